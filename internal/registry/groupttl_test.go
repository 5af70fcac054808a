package registry

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/store"
)

// ttlsOf returns the TTL of every set of www A, by set id.
func (h *harness) ttlsOf(t *testing.T) map[string]uint32 {
	t.Helper()
	sets, err := h.reg.Sets(context.Background(), "lb.test", Filter{Name: "www", Type: "A"})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]uint32{}
	for _, s := range sets {
		out[s.SetID] = s.TTL
	}
	return out
}

// TestGroupTakesTheLastTTL: as in Route 53, a set written with another
// TTL than its group's is not refused; its TTL becomes the group's, in the
// store and in DNS answers. A rolling deploy that changes the agent's
// --ttl registers its new instances.
func TestGroupTakesTheLastTTL(t *testing.T) {
	h := newHarness(t, nil)
	addr := h.dnsOf(t)
	a, b := wset("a", 10, "127.0.1.1"), wset("b", 10, "127.0.1.2")
	a.TTL, b.TTL = 30, 60
	h.put(a)
	h.put(b)
	if got := h.ttlsOf(t); got["a"] != 60 || got["b"] != 60 {
		t.Fatalf("stored TTLs %v, want both 60", got)
	}
	seen := map[string]bool{}
	for range 40 {
		rrs := ask(t, addr, "www.lb.test.")
		if ttls := answerTTLs(rrs); slices.ContainsFunc(ttls, func(ttl uint32) bool { return ttl != 60 }) {
			t.Fatalf("answer %v with TTLs %v, want 60", rrs, ttls)
		}
		seen[rrs[0].String()] = true
	}
	if len(seen) != 2 {
		t.Errorf("40 answers held %d distinct sets, want both", len(seen))
	}
}

// TestTTLDefaultKeepsTheGroupTTL: a write that gives no TTL (the API's
// default applies) is not a TTL specified: the set takes its group's TTL,
// or keeps its own, and only a new group gets the default.
func TestTTLDefaultKeepsTheGroupTTL(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	h.put(wset("a", 10, "127.0.1.1")) // TTL 60
	c := wset("c", 10, "127.0.1.3")
	c.TTL = 300
	if _, err := h.reg.Apply(ctx, "lb.test", []Change{{Action: Upsert, Set: c, TTLDefault: true}}); err != nil {
		t.Fatal(err)
	}
	if got := h.ttlsOf(t); got["a"] != 60 || got["c"] != 60 {
		t.Fatalf("a set joining without a TTL: %v, want both at the group's 60", got)
	}
	other := record.Set{Key: record.Key{Name: "api", Type: record.A, SetID: "x"}, Weight: 1, TTL: 300, Values: []string{"127.0.1.4"}}
	if _, err := h.reg.Apply(ctx, "lb.test", []Change{{Action: Upsert, Set: other, TTLDefault: true}}); err != nil {
		t.Fatal(err)
	}
	sets, err := h.reg.Sets(ctx, "lb.test", Filter{Name: "api"})
	if err != nil || len(sets) != 1 || sets[0].TTL != 300 {
		t.Fatalf("a new group without a TTL: %+v %v, want the default 300", sets, err)
	}
}

// TestBatchUpsertingEveryTTL: a batch that gives every set of a group the
// same new TTL succeeds (each change alone differs from the sets after
// it).
func TestBatchUpsertingEveryTTL(t *testing.T) {
	h := newHarness(t, nil)
	h.put(wset("a", 10, "127.0.1.1"))
	h.put(wset("b", 10, "127.0.1.2"))
	a, b := wset("a", 10, "127.0.1.1"), wset("b", 20, "127.0.1.2")
	a.TTL, b.TTL = 120, 120
	if _, err := h.reg.Apply(context.Background(), "lb.test", []Change{{Action: Upsert, Set: a}, {Action: Upsert, Set: b}}); err != nil {
		t.Fatalf("every set of the group with TTL 120: %v", err)
	}
	if got := h.ttlsOf(t); got["a"] != 120 || got["b"] != 120 {
		t.Errorf("stored TTLs %v, want both 120", got)
	}
}

// TestBatchValidatedOnFinalState: the rules spanning a name's sets hold
// for what the batch leaves, not after each change: a weighted name turns
// simple by adding the simple set first; a batch that leaves the name
// invalid fails, names the field and writes nothing.
func TestBatchValidatedOnFinalState(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	h.put(wset("a", 10, "127.0.1.1"))
	h.put(wset("b", 10, "127.0.1.2"))
	h.put(record.Set{Key: record.Key{Name: "api", Type: record.A, SetID: "a"}, Weight: 10, TTL: 60, Values: []string{"127.0.1.1"}})
	simple := func(name string) record.Set {
		return record.Set{Key: record.Key{Name: name, Type: record.A}, TTL: 60, Values: []string{"127.0.1.9"}}
	}

	if _, err := h.reg.Apply(ctx, "lb.test", []Change{
		{Action: Create, Set: simple("www")},
		{Action: Delete, Set: wset("a", 0, "")},
		{Action: Delete, Set: wset("b", 0, "")},
	}); err != nil {
		t.Fatalf("simple set first, then the weighted ones deleted: %v", err)
	}
	if got := h.ttlsOf(t); len(got) != 1 || got[""] != 60 {
		t.Fatalf("after the batch: %v, want only the simple set", got)
	}

	before := h.storeRev(t)
	_, err := h.reg.Apply(ctx, "lb.test", []Change{
		{Action: Upsert, Set: simple("other")},
		{Action: Create, Set: simple("api")},
		{Action: Upsert, Set: simple("third")},
	})
	var ce *ChangeError
	const want = "set_id: api.lb.test. A is weighted; a set_id is required"
	if !errors.As(err, &ce) || ce.Index != 1 || ce.Err.Error() != want {
		t.Fatalf("a simple set beside a weighted one: %v, want change 1: %s", err, want)
	}
	if after := h.storeRev(t); after != before {
		t.Errorf("the refused batch wrote: revision %d -> %d", before, after)
	}
	if sets, _ := h.reg.Sets(ctx, "lb.test", Filter{Name: "other"}); len(sets) != 0 {
		t.Errorf("the refused batch wrote %+v", sets)
	}
}

// storeRev is the store's current revision.
func (h *harness) storeRev(t *testing.T) int64 {
	t.Helper()
	rev, err := h.store.View(context.Background(), func(store.ReadTx) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	return rev
}

// TestGroupTTLRewriteRenewsNoLease: a write of one set that gives its
// group a new TTL rewrites the other sets, but it is not their owners'
// write: it neither renews their leases nor brings back a set whose lease
// lapsed (a dead instance must stay out of answers).
func TestGroupTTLRewriteRenewsNoLease(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.LeaseGrace = time.Hour })
	ctx := context.Background()
	for _, id := range []string{"a", "b", "c"} {
		h.put(leased(id, 15*time.Second))
	}
	for range 4 { // a, b renew every 5s; c has crashed
		h.clock.advance(5 * time.Second)
		for _, id := range []string{"a", "b"} {
			if _, err := h.reg.Renew(ctx, key(id), nil); err != nil {
				t.Fatal(err)
			}
		}
		h.tick()
	}
	if st, _ := h.status("c"); st.State != "expired" || st.Eligible {
		t.Fatalf("lapsed set c: %+v", st)
	}
	h.clock.advance(2 * time.Second)
	b := leased("b", 15*time.Second)
	b.TTL = 30
	h.put(b) // b's instance re-registers with another TTL
	if got := h.ttlsOf(t); got["a"] != 30 || got["c"] != 30 {
		t.Fatalf("TTLs %v, want all 30", got)
	}
	h.tick()
	if st, _ := h.status("c"); st.State != "expired" || st.Eligible {
		t.Errorf("the group's new TTL revived lapsed set c: %+v", st)
	}
	if st, _ := h.status("a"); st.LeaseRemaining.D() != 13*time.Second {
		t.Errorf("a's lease after the rewrite: %v left, want 13s from its last renewal", st.LeaseRemaining)
	}
}
