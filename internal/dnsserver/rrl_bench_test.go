package dnsserver

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/dnslb/dnslb/internal/selector"
)

// BenchmarkRRL is the cost RRL adds to a UDP answer (the weighted name of
// BenchmarkFastPath), against RRL off: "exempt" is the benchmark's client
// on the exempt list, so every response is still classified, hashed and
// counted in its bucket, and always sent; "limited" is a client over the
// rate (a frozen clock), mostly dropped, every second one slipped. The
// clock is read once per 32 responses, as for the full batches of a loaded
// server.
func BenchmarkRRL(b *testing.B) {
	req := packQuery("www.lb.test.", dns.TypeA, true, false)
	src := netip.MustParseAddr("192.0.2.7")
	frozen := func() time.Duration { return 0 }
	for _, tc := range []struct {
		name string
		rrl  RRL
	}{
		{"off", RRL{Off: true}},
		{"exempt", RRL{Rate: DefaultRRLRate, Slip: 2, Window: DefaultRRLWindow, Exempt: []netip.Prefix{netip.PrefixFrom(src, 24)}}},
		{"limited", RRL{Rate: DefaultRRLRate, Slip: 2, Window: DefaultRRLWindow, Clock: frozen}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			s := diffServer(b)
			s.rnd = selector.Fast{}
			l, err := newLimiter(tc.rrl, nil)
			if err != nil {
				b.Fatal(err)
			}
			s.rrl = l
			out := make([]byte, 65535)
			sc := new(scratch)
			w := &udpWriter{}
			remote := func() net.Addr { return nil }
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if i%batchSize == 0 {
					s.rrlBatch(sc)
				}
				i++
				s.answerUDP(req, out, sc, w, src, remote)
			}
		})
	}
}

// BenchmarkRRLLimit is the limiter alone on one response, reading the
// clock each time (a batch of one, as on an idle server).
func BenchmarkRRLLimit(b *testing.B) {
	s := diffServer(b)
	resp := s.fastAnswer(packQuery("www.lb.test.", dns.TypeA, true, false), make([]byte, 0, 65535), new(scratch))
	src := netip.MustParseAddr("192.0.2.7")
	l, err := newLimiter(RRL{Rate: DefaultRRLRate, Slip: 2, Window: DefaultRRLWindow, Exempt: []netip.Prefix{netip.PrefixFrom(src, 24)}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	var st rrlState
	b.ReportAllocs()
	for b.Loop() {
		st.now = l.now()
		if l.limit(resp, src, &st) == nil {
			b.Fatal("limited")
		}
	}
}
