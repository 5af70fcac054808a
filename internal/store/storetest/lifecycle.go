package storetest

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/store"
)

// testConcurrent runs read-modify-write increments from several goroutines:
// serializable transactions lose none, give each Update its own revision,
// and the watch shows the counter rising by one per revision.
func testConcurrent(t *testing.T, h *harness) {
	const workers, each = 8, 25
	st := h.new(t)
	k, start := counter(t, st)
	ch := st.Watch(t.Context(), start)
	revs := make(chan int64, workers*each)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() { errs <- count(t.Context(), st, k, each, revs) })
	}
	checkCountEvents(t, ch, start, workers*each) // while the writers run
	wg.Wait()
	close(revs)
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent Update: %v", err)
		}
	}
	var got []int64
	for rev := range revs {
		got = append(got, rev)
	}
	slices.Sort(got)
	checkRevisions(t, start, got, workers*each)
	if s, err := getSet(t, st, k); err != nil || s.Values[0] != strconv.Itoa(workers*each) {
		t.Errorf("counter = %v, %v; want %d", s.Values, err, workers*each)
	}
}

// checkRevisions wants sorted to be start+1, start+2, … without gaps.
func checkRevisions(t *testing.T, start int64, sorted []int64, n int) {
	t.Helper()
	if len(sorted) != n {
		t.Fatalf("%d Updates returned, want %d", len(sorted), n)
	}
	for i, rev := range sorted {
		if rev != start+int64(i)+1 {
			t.Fatalf("Update revisions %v…, want one each from %d on", sorted[:i+1], start+1)
		}
	}
}

// checkCountEvents wants n events from ch counting 1..n at consecutive
// revisions; a store may instead end the watch with ErrCompacted.
func checkCountEvents(t *testing.T, ch <-chan store.Event, start int64, n int) {
	t.Helper()
	for i := 1; i <= n; i++ {
		ev := recv(t, ch)
		if errors.Is(ev.Err, store.ErrCompacted) {
			t.Logf("watcher fell behind after %d events: %v", i-1, ev.Err)
			return
		}
		if ev.Rev != start+int64(i) || counted(ev) != i {
			t.Fatalf("event %d = %+v, want counter %d at revision %d", i, ev, i, start+int64(i))
		}
	}
}

func testPersistence(t *testing.T, h *harness) {
	if h.reopen == nil {
		t.Skip("the store keeps nothing across a restart")
	}
	st := h.new(t)
	items, want := setFixture()
	put(t, st, items...)
	update(t, st, apply(deleteSet(want[0].Key)))
	before := read(t, st)

	st = h.again(t, st)
	diff(t, "store after reopen", before, read(t, st))
	ch := st.Watch(t.Context(), before.Rev)
	next := put(t, st, newZone("next.test."))
	if next != before.Rev+1 {
		t.Errorf("first Update after reopen: revision %d, want %d", next, before.Rev+1)
	}
	if ev := recv(t, ch); ev.Rev != next {
		t.Errorf("watch from the revision before reopen: %+v, want revision %d", ev, next)
	}
}

func testClosed(t *testing.T, h *harness) {
	st := h.new(t)
	put(t, st, newZone(zoneName))
	ch := st.Watch(t.Context(), store.FromNow)
	if err := st.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	closed(t, ch)
	wantErr(t, "second Close", st.Close(), store.ErrClosed)
	ran := false
	_, err := st.Update(t.Context(), func(store.Tx) error { ran = true; return nil })
	wantErr(t, "Update after Close", err, store.ErrClosed)
	_, err = st.View(t.Context(), func(store.ReadTx) error { ran = true; return nil })
	wantErr(t, "View after Close", err, store.ErrClosed)
	if ran {
		t.Error("a transaction ran after Close")
	}
	closed(t, st.Watch(t.Context(), store.FromNow))
}

func testCancelled(t *testing.T, h *harness) {
	st := h.new(t)
	before := put(t, st, newZone(zoneName))
	expired, cancel := context.WithTimeout(t.Context(), 0)
	defer cancel()
	for _, c := range []struct {
		ctx  context.Context
		want error
	}{{cancelled(t), context.Canceled}, {expired, context.DeadlineExceeded}} {
		ran := false
		_, err := st.Update(c.ctx, func(tx store.Tx) error { ran = true; return tx.PutZone(newZone("x.test.")) })
		wantErr(t, "Update with an ended context", err, c.want)
		_, err = st.View(c.ctx, func(store.ReadTx) error { ran = true; return nil })
		wantErr(t, "View with an ended context", err, c.want)
		if ran {
			t.Errorf("a transaction ran with an ended context (%v)", c.want)
		}
		closed(t, st.Watch(c.ctx, store.FromNow))
	}
	diff(t, "store", snapshot{Rev: before, Zones: []record.Zone{zoneAt(newZone(zoneName), before)}}, read(t, st))
}
