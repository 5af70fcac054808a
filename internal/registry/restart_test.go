package registry

import (
	"context"
	"testing"
	"time"

	"github.com/dnslb/dnslb/internal/store"
)

// TestRestartKeepsAgentReportedHealth: an instance that reported itself
// down stays out of answers across a server restart (it used to come back
// as "unknown", and in answers), and one that reported up again is in.
// Only transitions are written: renewals that repeat the report write
// nothing.
func TestRestartKeepsAgentReportedHealth(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	h.put(leased("a", 15*time.Second))
	b := leased("b", 15*time.Second)
	b.Values = []string{"127.0.1.2"}
	h.put(b)
	no, yes := false, true
	for _, r := range []struct {
		id      string
		healthy *bool
	}{{"a", &no}, {"b", &no}, {"b", &yes}} {
		if _, err := h.reg.Renew(ctx, key(r.id), r.healthy); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.reg.reports.flush(ctx); err != nil {
		t.Fatal(err)
	}
	rev := h.revision()
	for range 3 { // steady renewals: no transition, no write
		for _, id := range []string{"a", "b"} {
			healthy := id == "b"
			if _, err := h.reg.Renew(ctx, key(id), &healthy); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := h.reg.reports.flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := h.revision(); got != rev {
		t.Errorf("renewals repeating the report wrote to the store: revision %d -> %d", rev, got)
	}

	h.stop()
	h.start(Options{Now: h.clock.Now, Manual: true})
	if st, _ := h.status("a"); st.Eligible || st.Health != "down (agent)" {
		t.Errorf("a reported down, after a restart: %+v", st)
	}
	if st, _ := h.status("b"); !st.Eligible || st.Health != "up (agent)" {
		t.Errorf("b reported down then up, after a restart: %+v", st)
	}
	if h.answered("127.0.1.1") {
		t.Errorf("a, reported down, is answered after a restart")
	}
	if !h.answered("127.0.1.2") {
		t.Errorf("b, reported up, is not answered after a restart")
	}
	// A report after the restart is what counts.
	if _, err := h.reg.Renew(ctx, key("a"), &yes); err != nil {
		t.Fatal(err)
	}
	if st, _ := h.status("a"); !st.Eligible || st.Health != "up (agent)" {
		t.Errorf("a reported up after the restart: %+v", st)
	}
}

// TestLeaseColumnsAfterRestart: after a restart the time left of a lease
// is never more than the lease; the restart grace is told apart.
func TestLeaseColumnsAfterRestart(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.RestartGrace = 15 * time.Second })
	h.put(leased("a", 15*time.Second))
	h.stop()
	h.start(Options{Now: h.clock.Now, Manual: true, RestartGrace: 15 * time.Second})
	for _, step := range []struct {
		advance          time.Duration
		remaining, grace time.Duration
	}{
		{0, 15 * time.Second, 15 * time.Second},
		{6 * time.Second, 15 * time.Second, 9 * time.Second},
		{12 * time.Second, 12 * time.Second, 0},
	} {
		h.clock.advance(step.advance)
		st, _ := h.status("a")
		if st.LeaseRemaining.D() != step.remaining || st.LeaseGrace.D() != step.grace {
			t.Errorf("+%s: lease remaining %s, grace %s; want %s and %s", step.advance,
				st.LeaseRemaining.D(), st.LeaseGrace.D(), step.remaining, step.grace)
		}
	}
}

// revision is the store's current revision.
func (h *harness) revision() int64 {
	h.t.Helper()
	rev, err := h.store.View(context.Background(), func(store.ReadTx) error { return nil })
	if err != nil {
		h.t.Fatal(err)
	}
	return rev
}
