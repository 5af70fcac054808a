package zone_test

import (
	"fmt"
	"testing"

	"github.com/miekg/dns"

	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/selector"
	"github.com/dnslb/dnslb/internal/zone"
)

// weightedInput is one zone with names weighted names of sets sets each
// (one A value per set).
func weightedInput(names, sets int) zone.Input {
	const z = "lb.test."
	in := zone.Input{Rev: 1, Zones: []record.Zone{record.NewZone(z)}, Sets: make([]record.Set, 0, names*sets)}
	for n := range names {
		name := fmt.Sprintf("pool%d.lb.test.", n)
		for i := range sets {
			ip := fmt.Sprintf("10.%d.%d.%d", n>>8&0xff, n&0xff, i)
			in.Sets = append(in.Sets, set(z, name, record.A, fmt.Sprintf("i-%03d", i), 10+i, ip))
		}
	}
	return in
}

func BenchmarkLookup(b *testing.B) {
	snap := zone.Build(weightedInput(1000, 10))
	var res zone.Result
	b.ReportAllocs()
	for b.Loop() {
		res.Reset()
		snap.Lookup("pool500.lb.test.", dns.TypeA, selector.Fast{}, &res)
	}
	if res.Kind != zone.Success || len(res.Answer) != 1 {
		b.Fatalf("lookup: kind %d, %d records", res.Kind, len(res.Answer))
	}
}

// BenchmarkBuild100k builds a snapshot of 100,000 record sets: 10,000
// weighted names of 10 sets.
func BenchmarkBuild100k(b *testing.B) {
	in := weightedInput(10_000, 10)
	b.ReportAllocs()
	for b.Loop() {
		if snap := zone.Build(in); snap.Len() != 1 {
			b.Fatal("no zone")
		}
	}
}
