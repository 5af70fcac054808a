// Package storetest is the conformance suite every store.Store must pass,
// so that all backends (bbolt, etcd, …) behave the same to the rest of
// dnslb: same ordering, same errors, same revisions, same watch events.
//
// A backend's test calls Run with functions that open its stores:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, openStore, reopenStore)
//	}
package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/store"
)

// MaxCompactProbe is how many revisions the ErrCompacted test writes at most
// while waiting for the store to drop old watch history. A backend that
// keeps more skips that test; open its stores with a smaller history.
const MaxCompactProbe = 1024

// guard bounds every wait, so a broken store fails a test instead of
// hanging it. It is never what a test waits for.
const guard = 30 * time.Second

// Run runs the conformance suite, each test in parallel on its own store.
//
// open returns a new, empty store; the suite closes it. reopen closes old
// and opens the same data again, as a server restart would; it is nil for
// backends that keep nothing, which skips the persistence test.
func Run(t *testing.T, open func(t *testing.T) store.Store, reopen func(t *testing.T, old store.Store) store.Store) {
	h := &harness{open: open, reopen: reopen}
	tests := []struct {
		name string
		fn   func(*testing.T, *harness)
	}{
		{"Zones", testZones},
		{"Sets", testSets},
		{"Pages", testPages},
		{"ValuesAreCopies", testCopies},
		{"PutSetNeedsZone", testPutSetNeedsZone},
		{"DeleteZoneCascades", testDeleteZone},
		{"FailedUpdateWritesNothing", testAtomic},
		{"Revisions", testRevisions},
		{"ReadYourWrites", testReadYourWrites},
		{"WatchEvents", testWatchEvents},
		{"WatchReplays", testWatchReplays},
		{"WatchLargeTransaction", testWatchLarge},
		{"WatchFromNow", testWatchFromNow},
		{"WatchFromEmpty", testWatchFromEmpty},
		{"WatchEndsWithContext", testWatchCancel},
		{"SlowWatcherDoesNotBlockWriters", testSlowWatcher},
		{"WatchCompacted", testCompacted},
		{"ConcurrentUpdatesSerialize", testConcurrent},
		{"Persistence", testPersistence},
		{"Closed", testClosed},
		{"CancelledContext", testCancelled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, h)
		})
	}
}

// harness opens stores and closes them when the test ends.
type harness struct {
	open   func(t *testing.T) store.Store
	reopen func(t *testing.T, old store.Store) store.Store
}

func (h *harness) new(t *testing.T) store.Store {
	t.Helper()
	st := h.open(t)
	t.Cleanup(func() { _ = st.Close() }) // ErrClosed if the test closed it
	return st
}

func (h *harness) again(t *testing.T, old store.Store) store.Store {
	t.Helper()
	st := h.reopen(t, old)
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// Fixtures.

const zoneName = "lb.test."

var created = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func newZone(name string) record.Zone {
	z := record.NewZone(name)
	z.Created = created
	return z
}

func newSet(zone, name string, typ record.Type, id string, values ...string) record.Set {
	s := record.Set{
		Key:     record.Key{Zone: zone, Name: name, Type: typ, SetID: id},
		TTL:     60,
		Values:  values,
		State:   record.Active,
		Created: created, Updated: created,
	}
	if id != "" {
		s.Weight = 10
	}
	return s
}

// fullSet uses every field of record.Set, to check they all survive.
func fullSet() record.Set {
	served := created.Add(time.Minute)
	s := newSet(zoneName, "full."+zoneName, record.A, "i-full", "127.0.1.1", "127.0.1.2")
	s.Owner = "agent-7"
	s.Lease = record.Duration(15 * time.Second)
	s.Check = &record.Check{Target: "http://127.0.1.1:8080/health", Interval: record.Duration(time.Second),
		Timeout: record.Duration(time.Second / 2), Rise: 2, Fall: 3, Match: "ok"}
	s.Force = record.ForceDown
	s.State = record.Draining
	s.Drain = &record.Drain{Started: created, Margin: record.Duration(5 * time.Second), Keep: true, LastServed: &served}
	return s
}

func zoneAt(z record.Zone, rev int64) record.Zone { z.Revision = rev; return z }
func setAt(s record.Set, rev int64) record.Set    { s.Revision = rev; return s }

// Helpers.

var cmpOpts = []cmp.Option{cmpopts.EquateEmpty(), cmpopts.EquateErrors()}

func diff(t *testing.T, what string, want, got any) {
	t.Helper()
	if d := cmp.Diff(want, got, cmpOpts...); d != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", what, d)
	}
}

func update(t *testing.T, st store.Store, fn func(store.Tx) error) int64 {
	t.Helper()
	rev, err := st.Update(t.Context(), fn)
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	return rev
}

// put stores zones and sets, in the order given, in one transaction.
func put(t *testing.T, st store.Store, items ...any) int64 {
	t.Helper()
	return update(t, st, func(tx store.Tx) error {
		for _, it := range items {
			if err := putItem(tx, it); err != nil {
				return err
			}
		}
		return nil
	})
}

func putItem(tx store.Tx, it any) error {
	switch v := it.(type) {
	case record.Zone:
		return tx.PutZone(v)
	case record.Set:
		return tx.PutSet(v)
	}
	return errors.New("storetest: put takes record.Zone and record.Set")
}

// snapshot is everything a store holds, as one View sees it.
type snapshot struct {
	Rev   int64
	Zones []record.Zone
	Sets  []record.Set
}

func read(t *testing.T, st store.Store) snapshot {
	t.Helper()
	var s snapshot
	rev, err := st.View(t.Context(), func(tx store.ReadTx) error {
		var err error
		if s.Zones, err = tx.Zones(); err != nil {
			return err
		}
		for _, z := range s.Zones {
			sets, err := tx.Sets(z.Name, "")
			if err != nil {
				return err
			}
			s.Sets = append(s.Sets, sets...)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("View: %v", err)
	}
	s.Rev = rev
	return s
}

func revision(t *testing.T, st store.Store) int64 {
	t.Helper()
	return read(t, st).Rev
}

func getSet(t *testing.T, st store.Store, k record.Key) (record.Set, error) {
	t.Helper()
	var s record.Set
	_, err := st.View(t.Context(), func(tx store.ReadTx) error {
		var err error
		s, err = tx.Set(k)
		return err
	})
	return s, err
}

func getZone(t *testing.T, st store.Store, name string) (record.Zone, error) {
	t.Helper()
	var z record.Zone
	_, err := st.View(t.Context(), func(tx store.ReadTx) error {
		var err error
		z, err = tx.Zone(name)
		return err
	})
	return z, err
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: error %v, want %v", what, err, want)
	}
}

// recv returns the next event of ch, failing if ch closes or stays silent.
func recv(t *testing.T, ch <-chan store.Event) store.Event {
	t.Helper()
	timer := time.NewTimer(guard)
	defer timer.Stop()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("watch channel closed, want an event")
		}
		return ev
	case <-timer.C:
		t.Fatalf("no watch event within %s", guard)
	}
	return store.Event{}
}

func recvN(t *testing.T, ch <-chan store.Event, n int) []store.Event {
	t.Helper()
	evs := make([]store.Event, n)
	for i := range evs {
		evs[i] = recv(t, ch)
	}
	return evs
}

// closed fails unless ch closes without delivering anything.
func closed(t *testing.T, ch <-chan store.Event) {
	t.Helper()
	timer := time.NewTimer(guard)
	defer timer.Stop()
	select {
	case ev, ok := <-ch:
		if ok {
			t.Fatalf("got event %+v, want the watch channel closed", ev)
		}
	case <-timer.C:
		t.Fatalf("watch channel still open after %s", guard)
	}
}

// cancelled returns a context that has already ended.
func cancelled(t *testing.T) context.Context {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	return ctx
}

// op is one change in a transaction; apply runs ops in order.
type op func(store.Tx) error

func putZone(z record.Zone) op  { return func(tx store.Tx) error { return tx.PutZone(z) } }
func putSet(s record.Set) op    { return func(tx store.Tx) error { return tx.PutSet(s) } }
func deleteSet(k record.Key) op { return func(tx store.Tx) error { return tx.DeleteSet(k) } }
func deleteZone(name string) op { return func(tx store.Tx) error { return tx.DeleteZone(name) } }

func apply(ops ...op) func(store.Tx) error {
	return func(tx store.Tx) error {
		for _, o := range ops {
			if err := o(tx); err != nil {
				return err
			}
		}
		return nil
	}
}
