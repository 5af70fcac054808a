package registry

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/dnslb/dnslb/internal/record"
)

// historyText renders transitions as "set event detail by" lines.
func historyText(trs []record.Transition) string {
	var b strings.Builder
	for _, tr := range trs {
		fmt.Fprintf(&b, "%s %s %q %s\n", tr.Key.SetID, tr.Event, tr.Detail, tr.By)
	}
	return b.String()
}

// TestHistory: registration, a weight change, a drain that completes and
// a lease that lapses and expires are in the name's history, with who did
// them; renewals add nothing; the history survives a restart on the same
// file.
func TestHistory(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.LeaseGrace = 10 * time.Second })
	ops := WithActor(context.Background(), &Actor{Name: "ops"})
	apply := func(set record.Set) {
		if _, err := h.reg.Apply(ops, "lb.test", []Change{{Action: Upsert, Set: set}}); err != nil {
			t.Fatal(err)
		}
	}
	apply(wset("a", 10, "127.0.1.1"))
	apply(wset("a", 10, "127.0.1.1")) // the same again: no transition
	apply(wset("a", 0, "127.0.1.1"))
	b := leased("b", 15*time.Second)
	b.Values = []string{"127.0.1.2"}
	h.put(b) // no actor: an open API
	healthy := false
	for range 3 { // one transition (down), written once
		if _, err := h.reg.Renew(context.Background(), key("b"), &healthy); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.reg.reports.flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := h.reg.Drain(ops, key("a"), 0, false); err != nil {
		t.Fatal(err)
	}
	h.clock.advance(16 * time.Second)
	h.tick() // a's drain is done (never served); b lapses
	h.clock.advance(11 * time.Second)
	h.tick() // b is deleted
	waitFor(t, func() bool {
		trs, _ := h.reg.History(context.Background(), "lb.test", "www", "", "")
		return len(trs) == 8
	})

	// per set in order; the sets' transitions of one tick may interleave
	want := `a registered "weight 10, values 127.0.1.1" ops
a updated "weight 10 -> 0" ops
a drain-started "safe by 2026-11-24T12:01:00Z at the latest" ops
a drain-completed "deleted" server
b registered "weight 10, values 127.0.1.2" 
b health-down "agent-reported" agent
b lease-lapsed "no renewal since 2026-11-24T12:00:00Z (lease 15s); deleted at 2026-11-24T12:00:26Z unless renewed" server
b expired "deleted after its lease lapsed" server
`
	trs, err := h.reg.History(context.Background(), "lb.test", "www", "A", "")
	if err != nil {
		t.Fatal(err)
	}
	sort.SliceStable(trs, func(i, j int) bool { return trs[i].Key.SetID < trs[j].Key.SetID })
	if got := historyText(trs); got != want {
		t.Errorf("history:\n%s\nwant:\n%s", got, want)
	}
	h.stop()
	h.start(Options{Now: h.clock.Now, Manual: true})
	trs, err = h.reg.History(context.Background(), "lb.test", "www.lb.test.", "", "b")
	if err != nil {
		t.Fatal(err)
	}
	if len(trs) != 4 || trs[0].Event != record.EventRegistered || trs[0].Revision == 0 {
		t.Errorf("history of b after a restart:\n%s", historyText(trs))
	}
	if _, err := h.reg.History(context.Background(), "lb.test", "", "", ""); err == nil || err.Error() != "name: is required" {
		t.Errorf("history without a name: %v", err)
	}
}

// waitFor polls ok (written off the caller's goroutine: the journal queue).
func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
