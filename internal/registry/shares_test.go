package registry

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/dnslb/dnslb/internal/record"
)

// TestSharesFollowTheRules: the share a listing reports is what DNS does
// now (0 for a lapsed lease, the fail-open shares marked as such when no
// set is eligible), and the observed share is the last minute's answers.
func TestSharesFollowTheRules(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	h.put(wset("a", 10, "127.0.1.1"))
	h.put(wset("b", 30, "127.0.1.2"))
	c := leased("c", 15*time.Second)
	c.Weight, c.Values = 60, []string{"127.0.1.3"}
	h.put(c)
	h.wantShares("all eligible", map[string]float64{"a": 0.1, "b": 0.3, "c": 0.6}, false)

	h.clock.advance(16 * time.Second)
	h.tick()
	h.wantShares("c lapsed", map[string]float64{"a": 0.25, "b": 0.75, "c": 0}, false)

	for _, id := range []string{"a", "b"} {
		if err := h.reg.Force(ctx, key(id), record.ForceDown); err != nil {
			t.Fatal(err)
		}
	}
	h.wantShares("nothing eligible: failing open", map[string]float64{"a": 0.25, "b": 0.75, "c": 0}, true)
	if st, _ := h.status("a"); st.Eligible {
		t.Errorf("a forced down is eligible: %+v", st)
	}
}

// TestObservedShareIsTheLastMinute: the observed share counts the answers
// of the last minute only, sampled every 10 s off the DNS path.
func TestObservedShareIsTheLastMinute(t *testing.T) {
	h := newHarness(t, nil)
	h.put(wset("a", 10, "127.0.1.1"))
	h.put(wset("b", 10, "127.0.1.2"))
	h.serve("a", 30)
	h.serve("b", 10)
	h.wantObserved("before any sample", map[string]float64{"a": 0.75, "b": 0.25})
	for range observeSlots - 1 { // a minute of samples, no more answers
		h.reg.observed.sample(h.reg.Load())
	}
	h.wantObserved("within the minute", map[string]float64{"a": 0.75, "b": 0.25})
	h.reg.observed.sample(h.reg.Load())
	h.wantObserved("a minute later", nil)
	h.serve("b", 5)
	h.wantObserved("new answers", map[string]float64{"a": 0, "b": 1})
	if st, _ := h.status("b"); st.ServedLastMinute != 5 || st.Served != 15 {
		t.Errorf("b: served %d in the last minute, %d in all; want 5 and 15", st.ServedLastMinute, st.Served)
	}
}

// serve counts n answers with set id, as the DNS server does.
func (h *harness) serve(id string, n int) {
	h.t.Helper()
	g, ok := h.reg.Load().Group(key(id))
	if !ok {
		h.t.Fatalf("no group for %s", id)
	}
	for _, s := range g.Sets {
		if s.Key.SetID == id {
			for range n {
				s.Served.Record(h.clock.Now(), s.TTL)
			}
			return
		}
	}
	h.t.Fatalf("%s is not answered", id)
}

func (h *harness) wantShares(what string, want map[string]float64, failOpen bool) {
	h.t.Helper()
	for id, share := range want {
		st, _ := h.status(id)
		if math.Abs(st.Share-share) > 1e-9 || st.FailOpen != (failOpen && share > 0) {
			h.t.Errorf("%s: %s has share %v fail-open %v; want %v fail-open %v", what, id, st.Share, st.FailOpen, share, failOpen && share > 0)
		}
	}
}

func (h *harness) wantObserved(what string, want map[string]float64) {
	h.t.Helper()
	for _, id := range []string{"a", "b"} {
		st, _ := h.status(id)
		share, ok := want[id]
		switch {
		case !ok && st.ObservedShare != nil:
			h.t.Errorf("%s: %s observed %v, want none", what, id, *st.ObservedShare)
		case ok && (st.ObservedShare == nil || math.Abs(*st.ObservedShare-share) > 1e-9):
			h.t.Errorf("%s: %s observed %v, want %v", what, id, st.ObservedShare, share)
		}
	}
}
