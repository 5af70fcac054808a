package registry

import (
	"context"
	"testing"
	"time"
)

// TestReadCreatesNoState: a status read (a listing that raced with a
// deletion) must not bring back runtime state for a set that is gone; a
// set registered again under the same key starts clean.
func TestReadCreatesNoState(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	h.put(leased("a", 15*time.Second))
	h.put(wset("b", 10, "127.0.1.2"))
	sets, err := h.reg.Sets(ctx, "lb.test", Filter{Name: "www", SetID: "a"})
	if err != nil || len(sets) != 1 {
		t.Fatalf("sets: %v %v", sets, err)
	}
	if _, err := h.reg.Apply(ctx, "lb.test", []Change{{Action: Delete, Set: wset("a", 0, "")}}); err != nil {
		t.Fatal(err)
	}
	h.reg.Statuses(sets) // the listing read a before the deletion
	if h.hasState(key("a")) {
		t.Error("a status read of a deleted set created runtime state for it")
	}
}
