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
// names × 100 sets, each with a 15 s lease, renewed once over HTTP) into a
// registry over a real bolt file and reports the Go heap they hold
// (HeapInuse after a GC, before and after, over 100,000): the registry's
// own state, the snapshot, and what bbolt keeps on the heap. Run it with
// -benchtime=1x; it takes a few seconds.
func BenchmarkMemoryPerSet100k(b *testing.B) {
	for range b.N {
		h := newHarness(b, nil)
		ctx := context.Background()
		before := heapInuse()
		for n := range 1000 {
			changes := make([]Change, 0, 100)
			for s := range 100 {
				set := leased(fmt.Sprintf("i-%08d", n*100+s), 15*time.Second)
				set.Name = fmt.Sprintf("n%d", n)
				set.Values = []string{fmt.Sprintf("10.%d.%d.%d", n/250, n%250, s+1)}
				changes = append(changes, Change{Action: Upsert, Set: set})
			}
			if _, err := h.reg.Apply(ctx, "lb.test", changes); err != nil {
				b.Fatal(err)
			}
			for s := range 100 {
				k := record.Key{Zone: "lb.test", Name: fmt.Sprintf("n%d", n), Type: record.A, SetID: fmt.Sprintf("i-%08d", n*100+s)}
				if _, err := h.reg.Renew(ctx, k, nil); err != nil {
					b.Fatal(err)
				}
			}
		}
		after := heapInuse()
		b.ReportMetric(float64(after-before)/100000, "heap-B/set")
		if path := os.Getenv("DNSLB_HEAP_PROFILE"); path != "" { // what holds it: go tool pprof -sample_index=inuse_space
			writeHeapProfile(b, path)
		}
		h.stop()
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
