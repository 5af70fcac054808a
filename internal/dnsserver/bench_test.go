package dnsserver_test

import (
	"fmt"
	"testing"

	"github.com/miekg/dns"

	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/zone"
)

// BenchmarkServeDNS is the handler alone, with a recording writer: a
// weighted name of 10 sets, over UDP with EDNS.
func BenchmarkServeDNS(b *testing.B) {
	const z = "lb.test."
	in := zone.Input{Zones: []record.Zone{record.NewZone(z)}}
	for i := range 10 {
		in.Sets = append(in.Sets, set(z, "pool.lb.test.", record.A, fmt.Sprintf("i-%d", i), 10+i, fmt.Sprintf("10.0.0.%d", i)))
	}
	srv, _ := handler(b, zone.Build(in))
	req := withEDNS(query("pool.lb.test.", dns.TypeA), 1232, false, 0)
	w := &recorder{local: udpAddr}
	b.ReportAllocs()
	for b.Loop() {
		w.msgs = w.msgs[:0]
		srv.ServeDNS(w, req)
	}
	if r := w.msgs[0]; r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
		b.Fatalf("reply %v", r)
	}
}
