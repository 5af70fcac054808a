package registry

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/dnslb/dnslb/internal/record"
)

// TestLapseLeavesAnswersWithin50ms: with the real clock and no test ticks,
// a lapsed lease leaves DNS answers within 50 ms of its deadline, round
// after round.
func TestLapseLeavesAnswersWithin50ms(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.Now = time.Now; o.Manual = false })
	h.put(wset("z", 10, "127.0.1.9")) // keeps the name from failing open
	ctx := context.Background()
	const lease = time.Second
	var worst time.Duration
	for i := range 5 {
		id := fmt.Sprintf("l%d", i)
		addr := fmt.Sprintf("127.0.2.%d", i+1)
		s := leased(id, lease)
		s.Values = []string{addr}
		h.put(s)
		renewed := time.Now()
		if _, err := h.reg.Renew(ctx, key(id), nil); err != nil {
			t.Fatal(err)
		}
		h.waitAnswered(addr, false)
		late := time.Since(renewed) - lease
		worst = max(worst, late)
	}
	t.Logf("worst lapse-to-answer latency: %s", worst)
	if worst > 50*time.Millisecond {
		t.Errorf("a lapse left answers %s after the deadline; want within 50 ms", worst)
	}
}

// BenchmarkLapseToLeave measures the time from a lease's deadline to its
// set leaving the published answers, with the real clock and the loop's
// own timer (no test ticks); each round waits out a 1 s lease.
func BenchmarkLapseToLeave(b *testing.B) {
	h := newHarness(b, func(o *Options) { o.Now = time.Now; o.Manual = false })
	h.put(wset("z", 10, "127.0.1.9"))
	ctx := context.Background()
	var total time.Duration
	for i := range b.N {
		id := fmt.Sprintf("l%d", i)
		addr := fmt.Sprintf("127.0.3.%d", i%250+1)
		s := leased(id, time.Second)
		s.Values = []string{addr}
		h.put(s)
		deadline := time.Now().Add(time.Second) // no later than the registry's: the figure is an upper bound
		if _, err := h.reg.Renew(ctx, key(id), nil); err != nil {
			b.Fatal(err)
		}
		h.waitAnswered(addr, false)
		total += time.Since(deadline)
		if _, err := h.reg.Apply(ctx, "lb.test", []Change{{Action: Delete, Set: wset(id, 0, "")}}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(total.Microseconds())/float64(b.N)/1000, "ms/lapse")
}

// TestExpiredSetsDeletedInOneTransaction: 1,000 sets whose grace period
// ends together (50 on each of 20 names, beside one live set per name, so
// the brake has no reason to hold them) are deleted in one store
// transaction, not one each.
func TestExpiredSetsDeletedInOneTransaction(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.LeaseGrace = 10 * time.Second })
	ctx := context.Background()
	const names, dead = 20, 50
	var live []record.Key
	for n := range names {
		changes := make([]Change, 0, dead+1)
		for s := range dead + 1 {
			set := leased(fmt.Sprintf("s%d", s), 15*time.Second)
			set.Name = fmt.Sprintf("n%d", n)
			set.Values = []string{fmt.Sprintf("10.8.%d.%d", n, s+1)}
			changes = append(changes, Change{Action: Upsert, Set: set})
		}
		if _, err := h.reg.Apply(ctx, "lb.test", changes); err != nil {
			t.Fatal(err)
		}
		live = append(live, record.Key{Zone: "lb.test", Name: fmt.Sprintf("n%d", n), Type: record.A, SetID: fmt.Sprintf("s%d", dead)})
	}
	renew := func() {
		for _, k := range live {
			if _, err := h.reg.Renew(ctx, k, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	for range 4 { // the leases lapse at 15 s; the grace period ends at 25 s
		h.clock.advance(5 * time.Second)
		renew()
		h.tick()
	}
	before := h.reg.Load().Rev
	h.clock.advance(5 * time.Second)
	renew()
	start := time.Now()
	h.tick()
	h.waitRev(before + 1)
	took := time.Since(start)
	left := 0
	for n := range names {
		sets, err := h.reg.Sets(ctx, "lb.test", Filter{Name: fmt.Sprintf("n%d", n), Type: string(record.A)})
		if err != nil {
			t.Fatal(err)
		}
		left += len(sets) - 1
	}
	revs := h.reg.Load().Rev - before
	t.Logf("%d expired sets deleted in %s, %d store revision(s)", names*dead, took, revs)
	if left != 0 || revs != 1 {
		t.Errorf("after the first deletion: %d expired sets left, %d store transactions; want 0 left, 1 transaction", left, revs)
	}
}

// TestDrainedSetsDeletedInOneTransaction: drains that complete together
// are removed in one store transaction.
func TestDrainedSetsDeletedInOneTransaction(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	const n = 200
	changes := make([]Change, 0, n)
	for i := range n {
		set := wset("s", 10, fmt.Sprintf("10.7.%d.%d", i/250, i%250+1))
		set.Name = fmt.Sprintf("d%d", i)
		changes = append(changes, Change{Action: Upsert, Set: set})
	}
	if _, err := h.reg.Apply(ctx, "lb.test", changes); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		k := record.Key{Zone: "lb.test", Name: fmt.Sprintf("d%d", i), Type: record.A, SetID: "s"}
		if _, err := h.reg.Drain(ctx, k, 0, false); err != nil { // never served: safe at once
			t.Fatal(err)
		}
	}
	before := h.reg.Load().Rev
	h.tick()
	h.waitRev(before + 1)
	revs := h.reg.Load().Rev - before
	t.Logf("%d drained sets removed, %d store revision(s)", n, revs)
	if revs != 1 {
		t.Errorf("removing %d drained sets took %d store transactions; want 1", n, revs)
	}
	for i := range n {
		sets, _ := h.reg.Sets(ctx, "lb.test", Filter{Name: fmt.Sprintf("d%d", i)})
		if len(sets) != 0 {
			t.Fatalf("d%d still stored after its drain", i)
		}
	}
}

// waitRev waits until the published snapshot is at store revision rev.
func (h *harness) waitRev(rev int64) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.reg.waitPublished(ctx, rev); err != nil {
		h.t.Fatalf("waiting for revision %d: %v", rev, err)
	}
}

// TestDrainingLeaseDoesNotCutTheDrain: an agent that drains stops
// renewing; its lapsed lease must not delete the set before safe_at (the
// drain removes it then), or the agent would exit while clients may still
// hold its address.
func TestDrainingLeaseDoesNotCutTheDrain(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.LeaseGrace = 10 * time.Second })
	ctx := context.Background()
	h.put(leased("a", 15*time.Second))
	h.put(wset("b", 10, "127.0.1.2"))
	h.recordServed(key("a"), h.clock.Now())
	st, err := h.reg.Drain(ctx, key("a"), 5*time.Second, false)
	if err != nil {
		t.Fatal(err)
	}
	for h.clock.Now().Before(st.SafeAt.Add(-time.Second)) {
		h.clock.advance(time.Second)
		h.tick()
		if _, ok := h.status("a"); !ok {
			t.Fatalf("a deleted %s before safe_at, by its lapsed lease", st.SafeAt.Sub(h.clock.Now()))
		}
	}
	h.clock.advance(time.Second)
	h.tick()
	if _, ok := h.status("a"); ok {
		t.Error("a still stored at safe_at")
	}
}
