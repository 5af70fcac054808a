//go:build unix

package etcdstore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/dnslb/dnslb/internal/etcdtest"
	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/store"
	"github.com/dnslb/dnslb/internal/store/etcdstore"
)

// TestLeaderKilledDuringWrites: two stores (two dnslb servers) write a
// stream of record sets to a 3-member etcd of real processes, and the
// etcd leader is killed (SIGKILL) in the middle of it. Every write whose
// Update returned without error is in the store afterwards; a write that
// failed said so (refused, or outcome unknown) and writes carry on under
// the new leader without a restart.
func TestLeaderKilledDuringWrites(t *testing.T) {
	pc := etcdtest.StartProcesses(t, 3)
	var stores []*etcdstore.Store
	for range 2 {
		st, err := etcdstore.New(etcdstore.Options{Client: pc.Client(t), Timeout: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		stores = append(stores, st)
	}
	runCtx, stopRun := context.WithCancel(context.Background())
	defer stopRun()
	for _, st := range stores { // probes etcd while it is away, as serve runs it
		go st.Run(runCtx)
	}
	put(t, stores[0], newZone(zoneName))

	var (
		mu     sync.Mutex
		acked  []record.Key
		failed []error
		killed = make(chan struct{})
	)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	for w, st := range stores {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				set := newSet(fmt.Sprintf("w%d", w), fmt.Sprintf("i-%d", i), "192.0.2.1")
				_, err := st.Update(ctx, func(tx store.Tx) error { return tx.PutSet(set) })
				mu.Lock()
				if err == nil {
					acked = append(acked, set.Key)
				} else if ctx.Err() == nil {
					failed = append(failed, err)
				}
				mu.Unlock()
				if err != nil {
					time.Sleep(20 * time.Millisecond)
				}
			}
		})
	}
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }
	waitAcked := func(n int, within time.Duration) {
		deadline := time.Now().Add(within)
		for count() < n {
			if time.Now().After(deadline) {
				cancel()
				wg.Wait()
				mu.Lock()
				defer mu.Unlock()
				t.Fatalf("%d writes acknowledged within %v, want %d; %d failures, the last: %v", len(acked), within, n, len(failed), failed[max(0, len(failed)-1):])
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitAcked(100, 30*time.Second)
	leader := leaderOf(t, pc)
	before := count()
	leader.Kill()
	close(killed)
	killedAt := time.Now()
	waitAcked(before+100, 60*time.Second) // writes go on under a new leader
	resumed := time.Since(killedAt)
	cancel()
	wg.Wait()

	// Read back through a client of the two surviving members only.
	var live []string
	for _, m := range pc.Members {
		if m != leader {
			live = append(live, m.ClientURL)
		}
	}
	st := open(t, live[0], etcdstore.Options{})
	defer st.Close()
	var missing []record.Key
	_, err := st.View(context.Background(), func(tx store.ReadTx) error {
		for _, k := range acked {
			if _, err := tx.Set(k); errors.Is(err, store.ErrNotFound) {
				missing = append(missing, k)
			} else if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(missing) > 0 {
		t.Fatalf("%d of %d acknowledged writes missing after the leader was killed: %v", len(missing), len(acked), missing)
	}
	for _, err := range failed {
		if !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("a write failed without saying etcd was unavailable: %v", err)
		}
	}
	t.Logf("%d writes acknowledged, all present; the leader killed after %d; %d writes refused or of unknown outcome; 100 more acknowledged %v after the kill",
		len(acked), before, len(failed), resumed.Round(time.Millisecond))
}

// leaderOf returns the member that leads pc now.
func leaderOf(t *testing.T, pc *etcdtest.ProcCluster) *etcdtest.Proc {
	t.Helper()
	cli := pc.Client(t)
	for _, m := range pc.Members {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		resp, err := cli.Status(ctx, m.ClientURL)
		cancel()
		if err == nil && resp.Leader == resp.Header.MemberId {
			return m
		}
	}
	t.Fatal("no member leads")
	return nil
}
