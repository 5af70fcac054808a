package dnsserver

import (
	"sync/atomic"
	"testing"

	"github.com/miekg/dns"

	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/selector"
	"github.com/dnslb/dnslb/internal/zone"
)

// servedServer is diffServer with answer counters on every set, as the
// registry builds its snapshots: the fast path then records each answer.
func servedServer(b *testing.B) *Server {
	b.Helper()
	served := map[record.Key]*zone.Served{}
	hook := func(k record.Key) *zone.Served {
		if served[k] == nil {
			served[k] = new(zone.Served)
		}
		return served[k]
	}
	in := diffInput(b)
	in.Served = hook
	var p atomic.Pointer[zone.Snapshot]
	p.Store(zone.Build(in))
	s, err := New(Config{Snapshot: &p, Rand: zeroRand{}})
	if err != nil {
		b.Fatal(err)
	}
	s.rnd = selector.Fast{}
	return s
}

// BenchmarkFastPathServed is BenchmarkFastPath's weighted answer with the
// served counters kept, on one UDP loop and on all of them at once (the
// counters of a popular set are shared by every loop).
func BenchmarkFastPathServed(b *testing.B) {
	s := servedServer(b)
	req := packQuery("www.lb.test.", dns.TypeA, true, false)
	b.Run("weighted", func(b *testing.B) {
		out := make([]byte, 0, 65535)
		sc := new(scratch)
		b.ReportAllocs()
		for b.Loop() {
			if s.fastAnswer(req, out, sc) == nil {
				b.Fatal("not answered")
			}
		}
	})
	b.Run("weighted-parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			out := make([]byte, 0, 65535)
			sc := new(scratch)
			for pb.Next() {
				if s.fastAnswer(req, out, sc) == nil {
					b.Error("not answered")
					return
				}
			}
		})
	})
}
