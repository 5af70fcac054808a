package registry

import (
	"context"
	"fmt"
	"testing"

	"github.com/miekg/dns"

	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/zone"
)

// TestLargeBatchPublishedWhole is the regression test for a batch of many
// changes answered only in part: the registry drained the watch without
// blocking, could stop in the middle of one transaction's events, and then
// took the revision as published. When Apply returns, every name of the
// batch must answer, round after round.
func TestLargeBatchPublishedWhole(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	for round := range 5 {
		changes := make([]Change, MaxChanges)
		for i := range changes {
			changes[i] = Change{Action: Upsert, Set: record.Set{
				Key:    record.Key{Name: fmt.Sprintf("r%d-h%d", round, i), Type: record.A},
				TTL:    60,
				Values: []string{"127.0.2.1"},
			}}
		}
		if _, err := h.reg.Apply(ctx, "lb.test", changes); err != nil {
			t.Fatal(err)
		}
		snap := h.reg.Load()
		missing := 0
		for i := range changes {
			var res zone.Result
			snap.Lookup(fmt.Sprintf("r%d-h%d.lb.test.", round, i), dns.TypeA, firstRand{}, &res)
			if len(res.Answer) != 1 {
				missing++
			}
		}
		if missing > 0 {
			t.Fatalf("round %d: %d of %d names of one batch unanswered after Apply returned", round, missing, len(changes))
		}
	}
}
