package boltstore_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/store"
	"github.com/dnslb/dnslb/internal/store/boltstore"
	"github.com/dnslb/dnslb/internal/store/storetest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testHistory keeps the watch log small enough for the suite to reach
// ErrCompacted quickly, and large enough for its slow watcher (100 writes)
// to get every event.
const testHistory = 128

func TestConformance(t *testing.T) {
	var paths sync.Map // store.Store -> file path
	open := func(t *testing.T, path string) store.Store {
		st := mustOpen(t, path, boltstore.Options{WatchHistory: testHistory})
		paths.Store(st, path)
		return st
	}
	newStore := func(t *testing.T) store.Store {
		return open(t, filepath.Join(t.TempDir(), "dnslb.db"))
	}
	reopen := func(t *testing.T, old store.Store) store.Store {
		path, _ := paths.Load(old)
		if err := old.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		return open(t, path.(string))
	}
	storetest.Run(t, newStore, reopen)
	t.Run("Journal", func(t *testing.T) { storetest.RunJournal(t, newStore, reopen) })
	t.Run("Docs", func(t *testing.T) { storetest.RunDocs(t, newStore, reopen) })
}

func mustOpen(t *testing.T, path string, opts boltstore.Options) *boltstore.Store {
	t.Helper()
	st, err := boltstore.Open(path, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return st
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.db")
	if err := os.WriteFile(garbage, []byte(strings.Repeat("not a bbolt file\n", 1000)), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, path, want string
	}{
		{"directory", dir, dir + " is a directory"},
		{"missing directory", filepath.Join(dir, "nope", "dnslb.db"), "no such file or directory"},
		{"not a bbolt file", garbage, garbage},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, err := boltstore.Open(tc.path, boltstore.Options{})
			if err == nil {
				st.Close()
				t.Fatalf("Open(%s) succeeded, want an error", tc.path)
			}
			t.Log(err)
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Open(%s) = %q, want it to contain %q", tc.path, err, tc.want)
			}
		})
	}
}

// TestLocked opens the same file twice: the second Open fails after the lock
// timeout, saying who holds the file.
func TestLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dnslb.db")
	st := mustOpen(t, path, boltstore.Options{})
	defer st.Close()
	second, err := boltstore.Open(path, boltstore.Options{})
	if err == nil {
		second.Close()
		t.Fatal("second Open of a file in use succeeded")
	}
	want := fmt.Sprintf("data file %s is locked by another process", path)
	if !strings.Contains(err.Error(), want) {
		t.Errorf("second Open: %q, want it to contain %q", err, want)
	}
}

func TestReopenCompactsWatchHistory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dnslb.db")
	st := mustOpen(t, path, boltstore.Options{})
	first := putZones(t, st, "a.test.")
	putZones(t, st, "b.test.")
	st.Close()

	st = mustOpen(t, path, boltstore.Options{})
	defer st.Close()
	ch := st.Watch(t.Context(), first)
	if ev, _ := recv(t, ch); !errors.Is(ev.Err, store.ErrCompacted) {
		t.Errorf("watch from before the reopen: %+v, want ErrCompacted", ev)
	}
	if ev, ok := recv(t, ch); ok {
		t.Errorf("event %+v after ErrCompacted, want the channel closed", ev)
	}
}

// TestSlowWatcherCompacted lets a watcher fall further behind than the
// history: it gets at most the events still kept when it started reading,
// then ErrCompacted, and the writers never wait for it.
func TestSlowWatcherCompacted(t *testing.T) {
	st := mustOpen(t, filepath.Join(t.TempDir(), "dnslb.db"), boltstore.Options{WatchHistory: 4})
	defer st.Close()
	start := putZones(t, st, "start.test.")
	ch := st.Watch(t.Context(), start)
	for i := range 20 {
		putZones(t, st, fmt.Sprintf("z%d.test.", i))
	}
	last := start
	for {
		ev, ok := recv(t, ch)
		if !ok {
			t.Fatalf("watch closed after revision %d without ErrCompacted", last)
		}
		if ev.Err != nil {
			wantCompacted(t, ev, ch)
			return
		}
		if ev.Rev != last+1 {
			t.Fatalf("event at revision %d after %d, want consecutive revisions", ev.Rev, last)
		}
		last = ev.Rev
	}
}

func wantCompacted(t *testing.T, ev store.Event, ch <-chan store.Event) {
	t.Helper()
	if !errors.Is(ev.Err, store.ErrCompacted) {
		t.Errorf("watch ended with %v, want ErrCompacted", ev.Err)
	}
	if ev, ok := recv(t, ch); ok {
		t.Errorf("event %+v after ErrCompacted, want the channel closed", ev)
	}
}

// recv returns the next event of ch, or false once ch is closed; it fails
// the test if neither happens within a generous guard.
func recv(t *testing.T, ch <-chan store.Event) (store.Event, bool) {
	t.Helper()
	select {
	case ev, ok := <-ch:
		return ev, ok
	case <-time.After(30 * time.Second):
		t.Fatal("watch neither sent nor closed within 30s")
	}
	return store.Event{}, false
}

// TestTxAfterReturn keeps a transaction past its Update: using it is an
// error, not a read of unmapped memory.
func TestTxAfterReturn(t *testing.T) {
	st := mustOpen(t, filepath.Join(t.TempDir(), "dnslb.db"), boltstore.Options{})
	defer st.Close()
	var kept store.Tx
	if _, err := st.Update(t.Context(), func(tx store.Tx) error { kept = tx; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := kept.Zones(); err == nil {
		t.Error("Zones on a finished transaction succeeded")
	}
	if err := kept.PutZone(record.NewZone("late.test.")); err == nil {
		t.Error("PutZone on a finished transaction succeeded")
	}
}

func putZones(t testing.TB, st store.Store, names ...string) int64 {
	t.Helper()
	rev, err := st.Update(t.Context(), func(tx store.Tx) error {
		for _, n := range names {
			if err := tx.PutZone(record.NewZone(n)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	return rev
}

// BenchmarkUpdate measures one fsynced commit: one PutSet per Update.
func BenchmarkUpdate(b *testing.B) {
	st, err := boltstore.Open(filepath.Join(b.TempDir(), "dnslb.db"), boltstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	putZones(b, st, "lb.test.")
	s := record.Set{
		Key:    record.Key{Zone: "lb.test.", Name: "www.lb.test.", Type: record.A},
		Weight: 10, TTL: 60, Values: []string{"127.0.1.1"}, State: record.Active,
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		s.SetID = fmt.Sprintf("i-%d", i%1000)
		i++
		if _, err := st.Update(b.Context(), func(tx store.Tx) error { return tx.PutSet(s) }); err != nil {
			b.Fatal(err)
		}
	}
}
