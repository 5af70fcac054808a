package cluster_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/registry"
)

// registerMany registers n leased sets www-N through server 0, 100 to a
// transaction (under etcd's default --max-txn-ops of 128).
func (tc *testCluster) registerMany(n int) []record.Key {
	tc.t.Helper()
	var keys []record.Key
	for i := 0; i < n; i += 100 {
		var changes []registry.Change
		for j := i; j < min(i+100, n); j++ {
			set := record.Set{Key: record.Key{Name: fmt.Sprintf("n%d", j/100), Type: record.A, SetID: fmt.Sprintf("i-%d", j)},
				Weight: 10, TTL: 60, Values: []string{"127.0.1.1"}, Lease: record.Duration(15 * time.Second)}
			changes = append(changes, registry.Change{Action: registry.Upsert, Set: set})
			keys = append(keys, record.Key{Zone: "lb.test.", Name: set.Name + ".lb.test.", Type: record.A, SetID: set.SetID})
		}
		if _, err := tc.servers[0].reg.Apply(context.Background(), "lb.test", changes); err != nil {
			tc.t.Fatal(err)
		}
	}
	tc.sync()
	return keys
}

// BenchmarkSteadyRenewals10k: 10,000 leased sets (15 s leases) renewing
// every 5 s, each agent through one of three servers, for a minute of
// (fake) time: the etcd writes a second this costs in steady state (the
// target is 0), and the wall time the servers spend per 5 s round.
func BenchmarkSteadyRenewals10k(b *testing.B) {
	tc := startCluster(b, 3)
	keys := tc.registerMany(10_000)
	ctx := context.Background()
	rev := tc.etcdRev()
	var spent time.Duration
	b.ResetTimer()
	for range b.N {
		for range 12 {
			start := time.Now()
			for i, k := range keys {
				if _, err := tc.servers[i%3].reg.Renew(ctx, k, nil); err != nil {
					b.Fatal(err)
				}
			}
			tc.round(5 * time.Second)
			spent += time.Since(start)
		}
	}
	b.StopTimer()
	writes := tc.etcdRev() - rev
	b.ReportMetric(float64(writes)/(60*float64(b.N)), "etcd-writes/s")
	b.ReportMetric(float64(spent.Milliseconds())/(12*float64(b.N)), "ms/round")
	for _, s := range tc.servers {
		if n, err := s.reg.LapsesWaiting(); n > 0 {
			b.Errorf("%s: %d lapses waiting: %v", s.id, n, err)
		}
	}
	if writes != 0 {
		b.Errorf("%d etcd writes in steady state", writes)
	}
}

// BenchmarkPropagation: a write through server 0 (answered once server
// 0's answers carry it) until the answers of servers 1 and 2 carry it
// (their published snapshot, which DNS answers from): p50 and p99.
func BenchmarkPropagation(b *testing.B) {
	tc := startCluster(b, 3)
	var lat []time.Duration
	b.ResetTimer()
	for i := range b.N {
		set := record.Set{Key: record.Key{Name: "www", Type: record.A, SetID: "i-p"}, Weight: 10, TTL: 60,
			Values: []string{fmt.Sprintf("127.0.%d.%d", 2+i/250%250, 1+i%250)}}
		start := time.Now()
		rev, err := tc.servers[0].reg.Apply(context.Background(), "lb.test", []registry.Change{{Action: registry.Upsert, Set: set}})
		if err != nil {
			b.Fatal(err)
		}
		for _, s := range tc.servers[1:] {
			for s.reg.Applied() < rev {
				time.Sleep(20 * time.Microsecond)
			}
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// BenchmarkLapsePropagation (at most -benchtime 99x: a name holds 100
// weighted sets, lapsed ones included): from the leader's pass that finds a lease
// due (it asks the other two servers, writes the lapse) until the answers
// of all three servers carry it: p50 and p99.
func BenchmarkLapsePropagation(b *testing.B) {
	tc := startCluster(b, 3)
	leader := tc.leader()
	var lat []time.Duration
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		id := fmt.Sprintf("i-%d", i)
		tc.register(id)
		tc.clock.advance(16 * time.Second)
		b.StartTimer()
		start := time.Now()
		if err := leader.reg.Tick(context.Background()); err != nil { // asks, decides, writes
			b.Fatal(err)
		}
		rev := tc.storeRev()
		for _, s := range tc.servers {
			for s.reg.Applied() < rev {
				time.Sleep(20 * time.Microsecond)
			}
		}
		lat = append(lat, time.Since(start))
		b.StopTimer()
		tc.want(id, "expired")
		b.StartTimer()
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
