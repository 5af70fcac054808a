package storetest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/store"
)

// probeBatch is how many revisions the ErrCompacted test writes between
// two probes.
const probeBatch = 32

// writeHistory makes four updates, the second a transaction of several
// changes, and returns the events they must produce, in order.
func writeHistory(t *testing.T, st store.Store) []store.Event {
	t.Helper()
	z := newZone(zoneName)
	a := newSet(zoneName, "www."+zoneName, record.A, "a", "127.0.1.1")
	b := newSet(zoneName, "www."+zoneName, record.A, "b", "127.0.1.2")
	z2 := newZone(zoneName)
	z2.NS = []string{"ns2." + zoneName}

	r1 := update(t, st, apply(putZone(z)))
	r2 := update(t, st, apply(putSet(a), putSet(b), deleteSet(a.Key), putZone(z2)))
	r3 := update(t, st, apply(deleteSet(b.Key)))
	r4 := update(t, st, apply(deleteZone(zoneName)))
	return []store.Event{
		{Rev: r1, Kind: store.PutZone, Zone: zoneAt(z, r1), Last: true},
		{Rev: r2, Kind: store.PutSet, Set: setAt(a, r2)},
		{Rev: r2, Kind: store.PutSet, Set: setAt(b, r2)},
		{Rev: r2, Kind: store.DeleteSet, Set: record.Set{Key: a.Key}},
		{Rev: r2, Kind: store.PutZone, Zone: zoneAt(z2, r2), Last: true},
		{Rev: r3, Kind: store.DeleteSet, Set: record.Set{Key: b.Key}, Last: true},
		{Rev: r4, Kind: store.DeleteZone, Zone: record.Zone{Name: zoneName}, Last: true},
	}
}

func testWatchEvents(t *testing.T, h *harness) {
	st := h.new(t)
	ch := st.Watch(t.Context(), revision(t, st))
	want := writeHistory(t, st)
	diff(t, "events", want, recvN(t, ch, len(want)))
}

// testWatchLarge writes one transaction of many changes: every event
// carries its revision and only the final one is marked Last, however the
// store splits the delivery.
func testWatchLarge(t *testing.T, h *harness) {
	const n = 1000
	st := h.new(t)
	put(t, st, newZone(zoneName))
	ch := st.Watch(t.Context(), revision(t, st))
	ops := make([]op, n)
	for i := range ops {
		ops[i] = putSet(newSet(zoneName, fmt.Sprintf("h%d.%s", i, zoneName), record.A, "", "127.0.1.1"))
	}
	rev := update(t, st, apply(ops...))
	for i, ev := range recvN(t, ch, n) {
		if ev.Rev != rev || ev.Kind != store.PutSet || ev.Last != (i == n-1) {
			t.Fatalf("event %d of a %d-change transaction: revision %d, kind %v, last %v; want revision %d, put-set, last %v",
				i, n, ev.Rev, ev.Kind, ev.Last, rev, i == n-1)
		}
	}
}

func testWatchReplays(t *testing.T, h *harness) {
	st := h.new(t)
	base := put(t, st, newZone("base.test."))
	want := writeHistory(t, st)
	diff(t, "events replayed from before them", want, recvN(t, st.Watch(t.Context(), base), len(want)))
	diff(t, "events replayed from their first revision", want[1:], recvN(t, st.Watch(t.Context(), want[0].Rev), len(want)-1))

	ch := st.Watch(t.Context(), want[len(want)-1].Rev)
	next := put(t, st, newZone("next.test."))
	if ev := recv(t, ch); ev.Rev != next {
		t.Errorf("watch from the newest revision: first event %+v, want revision %d", ev, next)
	}
}

func testWatchFromNow(t *testing.T, h *harness) {
	st := h.new(t)
	put(t, st, newZone("before.test."))
	ch := st.Watch(t.Context(), store.FromNow)
	after := put(t, st, newZone("after.test."))
	if ev := recv(t, ch); ev.Rev != after || ev.Zone.Name != "after.test." {
		t.Errorf("Watch(FromNow): first event %+v, want the PutZone of after.test. at revision %d", ev, after)
	}
}

// testWatchFromEmpty: a watch from the empty store's revision (0 for
// bbolt; etcd's revisions start at 1) delivers the first write even when
// that commits before Watch is called (load with View, then watch: the
// registry's way).
func testWatchFromEmpty(t *testing.T, h *harness) {
	st := h.new(t)
	if got := read(t, st); len(got.Zones)+len(got.Sets) != 0 {
		t.Fatalf("a new store holds %+v, want nothing", got)
	}
	rev := revision(t, st)
	first := put(t, st, newZone("first.test."))
	if ev := recv(t, st.Watch(t.Context(), rev)); ev.Rev != first || ev.Zone.Name != "first.test." {
		t.Errorf("Watch(0) after the first write: first event %+v, want the PutZone of first.test. at revision %d", ev, first)
	}
}

func testWatchCancel(t *testing.T, h *harness) {
	st := h.new(t)
	ctx, cancel := context.WithCancel(t.Context())
	ch := st.Watch(ctx, store.FromNow)
	put(t, st, newZone(zoneName))
	recv(t, ch)
	cancel()
	closed(t, ch)
	closed(t, st.Watch(cancelled(t), store.FromNow))
}

// testSlowWatcher writes while a watcher reads nothing; the writes must
// finish, and the watcher then gets every event in order, or ErrCompacted
// if the store dropped some while it lagged.
func testSlowWatcher(t *testing.T, h *harness) {
	const writes = 100
	st := h.new(t)
	k, start := counter(t, st)
	ch := st.Watch(t.Context(), start)
	done := make(chan error, 1)
	go func() { done <- count(t.Context(), st, k, writes, nil) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("writes: %v", err)
		}
	case <-time.After(guard):
		t.Fatalf("%d writes did not finish within %s while a watcher lagged", writes, guard)
	}
	for i := 1; i <= writes; i++ {
		ev := recv(t, ch)
		if errors.Is(ev.Err, store.ErrCompacted) {
			closed(t, ch)
			t.Logf("slow watcher fell behind after %d events: %v", i-1, ev.Err)
			return
		}
		if ev.Rev != start+int64(i) || counted(ev) != i {
			t.Fatalf("event %d = %+v, want counter %d at revision %d", i, ev, i, start+int64(i))
		}
	}
}

func testCompacted(t *testing.T, h *harness) {
	st := h.new(t)
	k, from := counter(t, st)
	for written := 0; written < MaxCompactProbe; written += probeBatch {
		if err := count(t.Context(), st, k, probeBatch, nil); err != nil {
			t.Fatal(err)
		}
		if compactedSince(t, st, from) {
			ch := st.Watch(t.Context(), revision(t, st))
			next := put(t, st, newZone("next.test."))
			if ev := recv(t, ch); ev.Rev != next {
				t.Errorf("watch from the newest revision after compaction: %+v, want revision %d", ev, next)
			}
			return
		}
	}
	t.Skipf("the store kept all %d revisions of watch history; open it with a smaller history to test ErrCompacted", MaxCompactProbe)
}

// compactedSince reports whether Watch(from) ends with ErrCompacted; if
// not, it must replay from the revision after from.
func compactedSince(t *testing.T, st store.Store, from int64) bool {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ch := st.Watch(ctx, from)
	ev := recv(t, ch)
	switch {
	case errors.Is(ev.Err, store.ErrCompacted):
		closed(t, ch)
		return true
	case ev.Err != nil || ev.Rev != from+1:
		t.Fatalf("Watch(%d): first event %+v, want revision %d or ErrCompacted", from, ev, from+1)
	}
	return false
}

// counter creates a zone and a TXT set holding the number 0, and returns
// the set's key and the revision.
func counter(t *testing.T, st store.Store) (record.Key, int64) {
	t.Helper()
	s := newSet(zoneName, "counter."+zoneName, record.TXT, "", "0")
	return s.Key, put(t, st, newZone(zoneName), s)
}

// count increments counter k n times, one Update each, and sends each
// revision to revs unless it is nil.
func count(ctx context.Context, st store.Store, k record.Key, n int, revs chan<- int64) error {
	for range n {
		rev, err := st.Update(ctx, increment(k))
		if err != nil {
			return err
		}
		if revs != nil {
			revs <- rev
		}
	}
	return nil
}

// increment adds one to counter k, read and written in one transaction.
func increment(k record.Key) func(store.Tx) error {
	return func(tx store.Tx) error {
		s, err := tx.Set(k)
		if err != nil {
			return err
		}
		n, err := strconv.Atoi(s.Values[0])
		if err != nil {
			return err
		}
		s.Values = []string{strconv.Itoa(n + 1)}
		return tx.PutSet(s)
	}
}

// counted returns the counter value an event put, or -1.
func counted(ev store.Event) int {
	if ev.Kind != store.PutSet || len(ev.Set.Values) != 1 {
		return -1
	}
	n, err := strconv.Atoi(ev.Set.Values[0])
	if err != nil {
		return -1
	}
	return n
}
