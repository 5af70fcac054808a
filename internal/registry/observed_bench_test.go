package registry

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/zone"
)

// BenchmarkObserveSample100k measures one sample of the observed-share
// sampler over 100,000 weighted sets (10,000 names of 10 sets), the work
// it does every 10 s off the DNS path, and the memory its rings hold.
func BenchmarkObserveSample100k(b *testing.B) {
	z := record.NewZone("lb.test.")
	var sets []record.Set
	for n := range 10000 {
		for i := range 10 {
			sets = append(sets, record.Set{Key: record.Key{Zone: z.Name, Name: fmt.Sprintf("n%d.lb.test.", n), Type: record.A, SetID: fmt.Sprint(i)},
				Weight: 10, TTL: 60, Values: []string{fmt.Sprintf("127.0.%d.%d", i, n%250+1)}, State: record.Active})
		}
	}
	served := map[record.Key]*zone.Served{}
	snap := zone.Build(zone.Input{Rev: 1, Zones: []record.Zone{z}, Sets: sets, Served: func(k record.Key) *zone.Served {
		s := served[k]
		if s == nil {
			s = new(zone.Served)
			served[k] = s
		}
		return s
	}})
	o := newObserver()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	o.sample(snap)
	runtime.GC()
	runtime.ReadMemStats(&after)
	perSet := float64(after.HeapAlloc-before.HeapAlloc) / float64(len(sets))
	b.ResetTimer()
	for range b.N {
		o.sample(snap)
	}
	b.ReportMetric(perSet, "ring-bytes/set")
}
