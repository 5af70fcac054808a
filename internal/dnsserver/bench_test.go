package dnsserver_test

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/dnslb/dnslb/internal/dnsserver"
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

// udpRoundTrip returns a function that sends one packed query for
// pool.lb.test A over a connected UDP socket and reads the reply: the
// whole server path, sockets included, with a client that allocates
// nothing itself.
func udpRoundTrip(tb testing.TB, edit ...func(*dnsserver.Config)) func() {
	tb.Helper()
	const z = "lb.test."
	in := zone.Input{Zones: []record.Zone{record.NewZone(z)}}
	for i := range 10 {
		in.Sets = append(in.Sets, set(z, "pool.lb.test.", record.A, fmt.Sprintf("i-%d", i), 10+i, fmt.Sprintf("10.0.0.%d", i)))
	}
	var e func(*dnsserver.Config)
	if len(edit) > 0 {
		e = edit[0]
	}
	ts := start(tb, zone.Build(in), e)
	c := dial(tb, "udp", ts.Addr())
	q, err := withEDNS(query("pool.lb.test.", dns.TypeA), 1232, false, 0).Pack()
	if err != nil {
		tb.Fatal(err)
	}
	buf := make([]byte, 1500)
	return func() {
		if _, err := c.Write(q); err != nil {
			tb.Fatal(err)
		}
		n, err := c.Read(buf)
		if err != nil || n < 12 || buf[3]&0xF != dns.RcodeSuccess {
			tb.Fatalf("reply: %d bytes, %v", n, err)
		}
	}
}

// BenchmarkUDPQuery is one query and its answer through the real UDP
// loop on loopback, one at a time: mostly two syscalls each way.
func BenchmarkUDPQuery(b *testing.B) {
	rt := udpRoundTrip(b)
	b.ReportAllocs()
	for b.Loop() {
		rt()
	}
}

// TestUDPQueryAllocatesNothing: the UDP loop and fast path allocate
// nothing per query (a per-datagram allocation showed as heap growth and
// GC under dnsperf). The count is of the whole process, so a stray
// allocation elsewhere is allowed for, but not one per query.
func TestUDPQueryAllocatesNothing(t *testing.T) {
	if allocs := processAllocsPer(udpRoundTrip(t)); allocs > 0.1 {
		t.Errorf("%.2f allocations per UDP query, want 0", allocs)
	}
}

// TestUDPLimitedAllocatesNothing: nor does a response over the rate (RRL
// with a rate of 1 and a clock that stands still: every reply after the
// first is a slip, empty with TC).
func TestUDPLimitedAllocatesNothing(t *testing.T) {
	rt := udpRoundTrip(t, func(c *dnsserver.Config) {
		c.RRL = &dnsserver.RRL{Rate: 1, Slip: 1, Window: time.Second, Clock: func() time.Duration { return 0 }}
	})
	if allocs := processAllocsPer(rt); allocs > 0.1 {
		t.Errorf("%.2f allocations per limited UDP query, want 0", allocs)
	}
}

// processAllocsPer counts the allocations of the whole process per call
// of rt (a round trip through the real server): testing.AllocsPerRun
// rounds down to whole allocations per run and sees only its goroutine.
// A stray allocation elsewhere is allowed for, not one per call.
func processAllocsPer(rt func()) float64 {
	rt() // warm up
	const runs = 5000
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range runs {
		rt()
	}
	runtime.ReadMemStats(&after)
	return float64(after.Mallocs-before.Mallocs) / runs
}
