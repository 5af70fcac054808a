package registry

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/dnslb/dnslb/internal/record"
)

// BenchmarkMemoryPerSet100k loads 100,000 weighted record sets (1,000
// names × 100 sets) into a registry over a real bolt file and reports the
// Go heap they hold (HeapInuse after a GC, before and after, over
// 100,000): the registry's own state, the snapshot, and what bbolt keeps
// on the heap (its watch history holds the events of the last 10,000
// revisions, here all 100,000). "leased": each set has a 15 s lease and
// was renewed once over HTTP (so it has a heartbeat token); "plain": no
// lease. Run it with -benchtime=1x; it takes a few seconds.
// DNSLB_HEAP_PROFILE=FILE writes a heap profile at the measurement.
func BenchmarkMemoryPerSet100k(b *testing.B) {
	for _, leasedSets := range []bool{true, false} {
		name := "plain"
		if leasedSets {
			name = "leased"
		}
		b.Run(name, func(b *testing.B) {
			for range b.N {
				memoryPerSet(b, leasedSets)
			}
		})
	}
}

func memoryPerSet(b *testing.B, leasedSets bool) {
	h := newHarness(b, nil)
	defer h.stop()
	ctx := context.Background()
	before := heapInuse()
	for n := range 1000 {
		changes := make([]Change, 0, 100)
		for s := range 100 {
			set := wset(fmt.Sprintf("i-%08d", n*100+s), 10, fmt.Sprintf("10.%d.%d.%d", n/250, n%250, s+1))
			if leasedSets {
				set.Lease = record.Duration(15 * time.Second)
			}
			set.Name = fmt.Sprintf("n%d", n)
			changes = append(changes, Change{Action: Upsert, Set: set})
		}
		if _, err := h.reg.Apply(ctx, "lb.test", changes); err != nil {
			b.Fatal(err)
		}
		for s := range 100 {
			if !leasedSets {
				break
			}
			k := record.Key{Zone: "lb.test", Name: fmt.Sprintf("n%d", n), Type: record.A, SetID: fmt.Sprintf("i-%08d", n*100+s)}
			if _, err := h.reg.Renew(ctx, k, nil); err != nil {
				b.Fatal(err)
			}
		}
	}
	after := heapInuse()
	b.ReportMetric(float64(after-before)/100000, "heap-B/set")
	if path := os.Getenv("DNSLB_HEAP_PROFILE"); path != "" { // go tool pprof -sample_index=inuse_space
		writeHeapProfile(b, path)
	}
}

func writeHeapProfile(b *testing.B, path string) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := pprof.WriteHeapProfile(f); err != nil {
		b.Fatal(err)
	}
}

func heapInuse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}
