package registry

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/dnslb/dnslb/internal/record"
)

// TestBatchChecksEachChangeInOrder: the rules spanning a name's sets are
// checked change by change against the name as the batch has left it so
// far, not against the store as it was before the batch.
func TestBatchChecksEachChangeInOrder(t *testing.T) {
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
	// earlier does.
	ttl30 := wset("c", 10, "127.0.1.3")
	ttl30.TTL = 30
	_, err := h.reg.Apply(ctx, "lb.test", []Change{
		{Action: Delete, Set: wset("a", 0, "")},
		{Action: Upsert, Set: wset("b", 5, "127.0.1.2")},
		{Action: Create, Set: ttl30},
	})
	var ce *ChangeError
	if !errors.As(err, &ce) || ce.Index != 2 {
		t.Fatalf("a TTL differing from a set added in the same batch: %v, want an error for change 2", err)
	}
	if _, err := h.reg.Apply(ctx, "lb.test", []Change{
		{Action: Delete, Set: wset("a", 0, "")},
		{Action: Delete, Set: wset("b", 0, "")},
		{Action: Create, Set: ttl30},
	}); err != nil {
		t.Fatalf("new TTL once every other set of the group is deleted: %v", err)
	}

	// The limit of 100 weighted sets counts the batch's own sets.
	var changes []Change
	for i := range record.MaxWeightedSets + 1 {
		changes = append(changes, Change{Action: Upsert, Set: wset(fmt.Sprintf("m%d", i), 1, "127.0.2.1")})
	}
	for i := range changes {
		changes[i].Set.TTL = 30 // as set c has
	}
	_, err = h.reg.Apply(ctx, "lb.test", changes)
	if !errors.As(err, &ce) || ce.Index != record.MaxWeightedSets-1 {
		t.Fatalf("%d new sets next to set c: %v, want an error for change %d", len(changes), err, record.MaxWeightedSets-1)
	}
	sets, err := h.reg.Sets(ctx, "lb.test", Filter{Name: "www", Type: "A"})
	if err != nil || len(sets) != 1 || sets[0].SetID != "c" {
		t.Fatalf("after the rejected batch: %d sets (%v), want only c", len(sets), err)
	}
}
