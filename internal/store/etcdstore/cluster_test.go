package etcdstore_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dnslb/dnslb/internal/etcdtest"
	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/store"
	"github.com/dnslb/dnslb/internal/store/etcdstore"
)

const zoneName = "lb.test."

func newZone(name string) record.Zone { return record.NewZone(name) }

func newSet(name, id, value string) record.Set {
	return record.Set{Key: record.Key{Zone: zoneName, Name: name + "." + zoneName, Type: record.A, SetID: id},
		TTL: 60, Weight: 10, Values: []string{value}, State: record.Active}
}

func put(t *testing.T, st store.Store, items ...any) int64 {
	t.Helper()
	rev, err := st.Update(t.Context(), func(tx store.Tx) error {
		for _, it := range items {
			var err error
			switch v := it.(type) {
			case record.Zone:
				err = tx.PutZone(v)
			case record.Set:
				err = tx.PutSet(v)
			}
			if err != nil {
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

func recv(t *testing.T, ch <-chan store.Event) store.Event {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("watch closed")
		}
		return ev
	case <-time.After(30 * time.Second):
		t.Fatal("no event within 30s")
	}
	return store.Event{}
}

// TestTwoServers: two stores on one etcd, as two dnslb servers: a write
// through A is watched by B, and read-modify-write Updates through both
// lose nothing (they are serialized by the Txn compares).
func TestTwoServers(t *testing.T) {
	ep := startEtcd(t, 0)
	a, b := open(t, ep, etcdstore.Options{}), open(t, ep, etcdstore.Options{})
	defer a.Close()
	defer b.Close()
	start := put(t, a, newZone(zoneName), newSet("counter", "", "0"))
	ch := b.Watch(t.Context(), start)

	const each = 20
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for _, st := range []store.Store{a, b} {
		wg.Go(func() {
			for range each {
				if _, err := st.Update(t.Context(), increment); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for i := 1; i <= 2*each; i++ {
		ev := recv(t, ch)
		if ev.Rev != start+int64(i) || ev.Set.Values[0] != strconv.Itoa(i) || !ev.Last {
			t.Fatalf("B's event %d = %+v, want the counter at %d, revision %d", i, ev, i, start+int64(i))
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Update: %v", err)
	}
}

func increment(tx store.Tx) error {
	k := newSet("counter", "", "").Key
	s, err := tx.Set(k)
	if err != nil {
		return err
	}
	n, _ := strconv.Atoi(s.Values[0])
	s.Values = []string{strconv.Itoa(n + 1)}
	return tx.PutSet(s)
}

// TestCompactedReload: a watcher that fell behind etcd's compaction gets
// ErrCompacted, and a View then a Watch from its revision (the registry's
// reload) sees the whole state and what follows.
func TestCompactedReload(t *testing.T) {
	ep := startEtcd(t, 0)
	st := open(t, ep, etcdstore.Options{})
	defer st.Close()
	from := put(t, st, newZone(zoneName))
	for i := range 5 {
		put(t, st, newSet("www", fmt.Sprint(i), "127.0.0.1"))
	}
	cli := newClient(t, ep)
	defer cli.Close()
	if _, err := cli.Compact(t.Context(), from+3); err != nil {
		t.Fatalf("Compact: %v", err)
	}
	if ev := recv(t, st.Watch(t.Context(), from)); !errors.Is(ev.Err, store.ErrCompacted) {
		t.Fatalf("watch from a compacted revision: %+v, want ErrCompacted", ev)
	}
	var sets []record.Set
	rev, err := st.View(t.Context(), func(tx store.ReadTx) (err error) {
		sets, err = tx.Sets(zoneName, "")
		return err
	})
	if err != nil || len(sets) != 5 {
		t.Fatalf("reload: %d sets, %v; want 5", len(sets), err)
	}
	ch := st.Watch(t.Context(), rev)
	next := put(t, st, newSet("www", "5", "127.0.0.1"))
	if ev := recv(t, ch); ev.Rev != next || ev.Err != nil {
		t.Errorf("watch after the reload: %+v, want revision %d", ev, next)
	}
}

// TestTooManyOps: etcd's default --max-txn-ops (128) refuses a transaction
// of 200 changes; the error says which etcd flag to raise, and nothing is
// written. A zone delete is one range delete however many sets it holds.
func TestTooManyOps(t *testing.T) {
	ep := startEtcd(t, 0) // etcd's default
	st := open(t, ep, etcdstore.Options{})
	defer st.Close()
	rev := put(t, st, newZone(zoneName))
	items := make([]any, 0, 200)
	for i := range 200 {
		items = append(items, newSet(fmt.Sprintf("h%d", i), "a", "127.0.0.1"))
	}
	_, err := st.Update(t.Context(), func(tx store.Tx) error {
		for _, it := range items {
			if err := tx.PutSet(it.(record.Set)); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "--max-txn-ops") {
		t.Fatalf("a 200-change Update on etcd's default limit: %v, want an error naming --max-txn-ops", err)
	}
	if got, _ := st.View(t.Context(), func(store.ReadTx) error { return nil }); got != rev {
		t.Errorf("revision %d after the refused Update, want %d", got, rev)
	}
	for i := 0; i < 200; i += 100 {
		put(t, st, items[i:i+100]...)
	}
	if _, err := st.Update(t.Context(), func(tx store.Tx) error { return tx.DeleteZone(zoneName) }); err != nil {
		t.Fatalf("DeleteZone of a zone of 200 sets: %v", err)
	}
}

// TestQuota: a write beyond etcd's space quota fails with ErrFull.
func TestQuota(t *testing.T) {
	ep := startEtcdQuota(t, 1<<20)
	st := open(t, ep, etcdstore.Options{})
	defer st.Close()
	put(t, st, newZone(zoneName))
	big := strings.Repeat("x", 200)
	for i := 0; ; i++ {
		s := newSet(fmt.Sprintf("h%d", i%50), "a", "127.0.0.1")
		s.Owner = big + strconv.Itoa(i)
		_, err := st.Update(t.Context(), func(tx store.Tx) error { return tx.PutSet(s) })
		if errors.Is(err, store.ErrFull) {
			t.Logf("after %d writes: %v", i, err)
			return
		}
		if err != nil {
			t.Fatalf("write %d: %v, want nil or ErrFull", i, err)
		}
		if i > 100000 {
			t.Fatal("no ErrFull after 100,000 writes")
		}
	}
}

// TestUnavailable: with etcd stopped, a write fails with ErrUnavailable
// within the store's timeout, later writes are refused at once while the
// outage lasts, a watch keeps its place; when etcd is back, writes work
// and the watch resumes after the last revision it delivered.
func TestUnavailable(t *testing.T) {
	c := etcdtest.Start(t, 1)
	m := c.Members()[0]
	st, err := etcdstore.New(etcdstore.Options{Client: c.Client(t), Timeout: 500 * time.Millisecond, Probe: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go st.Run(ctx)
	rev := put(t, st, newZone(zoneName))
	ch := st.Watch(t.Context(), rev)

	m.Stop()
	write := func() error {
		_, err := st.Update(t.Context(), func(tx store.Tx) error { return tx.PutSet(newSet("www", "a", "127.0.0.1")) })
		return err
	}
	began := time.Now()
	err = write()
	var ue *etcdstore.UnavailableError
	if !errors.Is(err, store.ErrUnavailable) || !errors.As(err, &ue) || len(ue.Endpoints) != 1 {
		t.Fatalf("write with etcd stopped: %v, want ErrUnavailable naming the endpoint", err)
	}
	t.Logf("first refused write after %v: %v", time.Since(began).Round(time.Millisecond), err)
	began = time.Now()
	if err := write(); !errors.Is(err, store.ErrUnavailable) || time.Since(began) > 50*time.Millisecond {
		t.Errorf("second write: %v after %v, want ErrUnavailable at once", err, time.Since(began))
	}
	if st.Unavailable() == nil {
		t.Error("Unavailable() = nil with etcd stopped")
	}

	if err := m.Restart(); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for st.Unavailable() != nil {
		if time.Now().After(deadline) {
			t.Fatal("store still unavailable 20s after etcd came back")
		}
		time.Sleep(50 * time.Millisecond) // the prober's period; no event says etcd is back
	}
	next := put(t, st, newSet("www", "b", "127.0.0.2"))
	if ev := recv(t, ch); ev.Rev != next || ev.Set.SetID != "b" {
		t.Errorf("watch after etcd came back: %+v, want set b at revision %d", ev, next)
	}
}

// TestJournalOutsideTheTxn: a batch of 100 changes, each noting its
// transition, fits etcd's default --max-txn-ops (128) because the
// journal is written after the change, name by name; every entry carries
// the change's revision, and a name keeps the newest HistoryLimit.
func TestJournalOutsideTheTxn(t *testing.T) {
	st := open(t, startEtcd(t, 0), etcdstore.Options{})
	defer st.Close()
	put(t, st, newZone(zoneName))
	for round := range 3 {
		rev, err := st.Update(t.Context(), func(tx store.Tx) error {
			for i := range 100 {
				set := newSet("www", fmt.Sprintf("i-%d", i), "192.0.2.1")
				if err := tx.PutSet(set); err != nil {
					return err
				}
				tr := record.Transition{At: time.Unix(0, 0), Key: set.Key, Event: record.EventUpdated, Detail: fmt.Sprint(round*100 + i)}
				if err := tx.(store.Journal).Note(tr); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		var got []record.Transition
		if _, err := st.View(t.Context(), func(tx store.ReadTx) (err error) {
			got, err = tx.(store.Journal).History(zoneName, "www."+zoneName)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		want := min((round+1)*100, store.HistoryLimit)
		if len(got) != want || got[len(got)-1].Revision != rev || got[len(got)-1].Detail != fmt.Sprint(round*100+99) || got[0].Detail != fmt.Sprint((round+1)*100-want) {
			t.Fatalf("round %d: %d entries (last %+v), want %d ending with revision %d", round, len(got), got[len(got)-1], want, rev)
		}
	}
}
