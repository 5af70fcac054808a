package selector_test

import (
	"testing"

	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/selector"
)

// benchChoose measures Choose as the query path calls it: the production
// Rand behind the interface, dst reused.
func benchChoose(b *testing.B, p record.Policy, cs []selector.Candidate) {
	g := selector.NewGroup(p, cs)
	var r selector.Rand = selector.Fast{}
	dst := make([]int, 0, selector.MaxMulti)
	b.ReportAllocs()
	for b.Loop() {
		dst = g.Choose(r, dst[:0])
	}
}

func BenchmarkChooseSingle(b *testing.B) {
	benchChoose(b, record.Weighted, cands(up(10)))
}

func BenchmarkChooseWeighted10(b *testing.B) {
	benchChoose(b, record.Weighted, allUp(anchor))
}

func BenchmarkChooseWeighted100(b *testing.B) {
	benchChoose(b, record.Weighted, ramp(100, true))
}

func BenchmarkChooseFailOpen100(b *testing.B) {
	benchChoose(b, record.Weighted, ramp(100, false))
}

func BenchmarkChooseMultivalue(b *testing.B) {
	benchChoose(b, record.Multivalue, allUp(anchor))
}

func BenchmarkChooseMultivalue100(b *testing.B) {
	benchChoose(b, record.Multivalue, ramp(100, true))
}

// Every query goroutine shares a group and the per-thread generator.
func BenchmarkChooseWeighted10Parallel(b *testing.B) {
	g := selector.NewGroup(record.Weighted, allUp(anchor))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		var r selector.Rand = selector.Fast{}
		dst := make([]int, 0, selector.MaxMulti)
		for pb.Next() {
			dst = g.Choose(r, dst[:0])
		}
	})
}
