package registry

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/dnslb/dnslb/internal/record"
)

// TestBatchChecksTheFinalState: the rules spanning a name's sets are
// checked against the name as the whole batch leaves it, counting the
// sets the batch adds and not those it deletes; the error names the
// latest change that leaves the name invalid.
func TestBatchChecksTheFinalState(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	simple := record.Set{Key: record.Key{Name: "www", Type: record.A}, TTL: 60, Values: []string{"127.0.1.9"}}
	h.put(simple)

	// A simple record turns weighted in one batch: delete, then add sets.
	if _, err := h.reg.Apply(ctx, "lb.test", []Change{
		{Action: Delete, Set: simple},
		{Action: Create, Set: wset("a", 10, "127.0.1.1")},
		{Action: Create, Set: wset("b", 20, "127.0.1.2")},
	}); err != nil {
		t.Fatalf("delete simple, add weighted: %v", err)
	}

	// A set deleted earlier in the batch no longer counts; one added
	// earlier does, and takes the TTL given last.
	ttl30 := wset("c", 10, "127.0.1.3")
	ttl30.TTL = 30
	if _, err := h.reg.Apply(ctx, "lb.test", []Change{
		{Action: Delete, Set: wset("a", 0, "")},
		{Action: Upsert, Set: wset("b", 5, "127.0.1.2")},
		{Action: Create, Set: ttl30},
	}); err != nil {
		t.Fatalf("delete a, change b, add c with another TTL: %v", err)
	}
	if got := h.ttlsOf(t); len(got) != 2 || got["b"] != 30 || got["c"] != 30 {
		t.Fatalf("after the batch: %v, want b and c with the TTL 30 given last", got)
	}

	// The limit of 100 weighted sets counts the batch's own sets, and
	// not those it deletes.
	var changes []Change
	for i := range record.MaxWeightedSets - 2 { // with last, b and c: 101
		changes = append(changes, Change{Action: Upsert, Set: wset(fmt.Sprintf("m%d", i), 1, "127.0.2.1")})
	}
	over := append(changes, Change{Action: Upsert, Set: wset("last", 1, "127.0.2.1")})
	_, err := h.reg.Apply(ctx, "lb.test", over)
	var ce *ChangeError
	const want = "set_id: www.lb.test. A would have 101 weighted sets; at most 100 are allowed"
	if !errors.As(err, &ce) || ce.Index != record.MaxWeightedSets-2 || ce.Err.Error() != want {
		t.Fatalf("%d new sets next to b and c: %v, want change %d: %s", len(over), err, record.MaxWeightedSets-2, want)
	}
	if got := h.ttlsOf(t); len(got) != 2 {
		t.Fatalf("after the rejected batch: %v, want only b and c", got)
	}
	within := append([]Change{{Action: Upsert, Set: wset("last", 1, "127.0.2.1")}}, changes...)
	within = append(within, Change{Action: Delete, Set: wset("b", 0, "")}, Change{Action: Delete, Set: wset("c", 0, "")})
	if _, err := h.reg.Apply(ctx, "lb.test", within); err != nil {
		t.Fatalf("99 sets once b and c are deleted: %v", err)
	}
}
