package dnsserver_test

import (
	"encoding/binary"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/dnslb/dnslb/internal/dnsserver"
	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/zone"
)

// fakeClock is the RRL clock of a test: it moves only when told.
type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) Now() time.Duration      { return time.Duration(c.ns.Load()) }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// rrlSnapshot is lb.test with a big TXT answer (about 1,100 bytes, the fast
// path answers it), an alias to it (the full handler answers that), and a
// few ordinary names.
func rrlSnapshot() *zone.Snapshot {
	const z = "lb.test."
	lb := record.NewZone(z)
	lb.NS = []string{"ns1.lb.test.", "ns2.lb.test."}
	var txt []string
	for i := range 4 {
		txt = append(txt, strings.Repeat(string(rune('a'+i)), 250))
	}
	sets := []record.Set{
		set(z, "big.lb.test.", record.TXT, "", 0, txt...),
		set(z, "alias.lb.test.", record.CNAME, "", 0, "big.lb.test."),
		set(z, "www.lb.test.", record.A, "", 0, "192.0.2.1", "192.0.2.2"),
		set(z, "pool.lb.test.", record.A, "i-1", 10, "10.0.0.1"),
		set(z, "pool.lb.test.", record.A, "i-2", 30, "10.0.0.2"),
	}
	return zone.Build(zone.Input{Rev: 1, Zones: []record.Zone{lb}, Sets: sets})
}

// startRRL serves rrlSnapshot with rrl and its clock on one UDP socket (so
// that slip, counted per socket, is exact).
func startRRL(t *testing.T, rrl dnsserver.RRL, clock *fakeClock) *testServer {
	t.Helper()
	rrl.Clock = clock.Now
	return start(t, rrlSnapshot(), func(c *dnsserver.Config) {
		c.RRL, c.UDPSockets = &rrl, 1
	})
}

// udpFrom is a UDP socket from source address src (any 127.0.0.0/8
// address is local) to the server.
func udpFrom(t *testing.T, src, addr string) *net.UDPConn {
	t.Helper()
	raddr, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.DialUDP("udp", &net.UDPAddr{IP: net.ParseIP(src)}, raddr)
	if err != nil {
		t.Fatalf("dial from %s: %v", src, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// floodStats is what a client sent and got back.
type floodStats struct {
	sent, bytesIn        int // queries, and their bytes (what the server got)
	full, slipped        int // whole answers; empty truncated ones
	bytesOut             int // bytes of all replies
	dropped, slipMetrics float64
}

func (s floodStats) String() string {
	return fmt.Sprintf("%d queries (%d B) -> %d answers, %d truncated, %d B; ratio out/in %.3f",
		s.sent, s.bytesIn, s.full, s.slipped, s.bytesOut, float64(s.bytesOut)/float64(s.bytesIn))
}

// flood sends n queries from c, query(i) each, as fast as the round trip
// allows: in chunks, each wholly answered (replies + dropped = sent, by the
// server's metrics) before the next, so that no socket buffer overflows,
// every query reaches the server and every reply the client.
func flood(t *testing.T, ts *testServer, c *net.UDPConn, n int, query func(i int) []byte) floodStats {
	t.Helper()
	var got struct{ replies, full, slipped, bytes atomic.Int64 }
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		buf := make([]byte, 65535)
		for {
			k, err := c.Read(buf)
			if err != nil {
				return // the test is done with c
			}
			got.bytes.Add(int64(k))
			if k >= 12 && buf[2]&0x02 != 0 && binary.BigEndian.Uint32(buf[6:]) == 0 && buf[11] == 0 {
				got.slipped.Add(1)
			} else {
				got.full.Add(1)
			}
			got.replies.Add(1)
		}
	}()
	var st floodStats
	const chunk = 64
	for st.sent < n {
		for range min(chunk, n-st.sent) {
			q := query(st.sent)
			if _, err := c.Write(q); err != nil {
				t.Fatal(err)
			}
			st.sent++
			st.bytesIn += len(q)
		}
		waitFor(t, func() bool {
			return got.replies.Load()+int64(rrlCount(t, ts.reg, "dnslb_dns_rrl_dropped_total")) >= int64(st.sent)
		}, func() string {
			return fmt.Sprintf("%d replies and %v dropped for %d queries", got.replies.Load(), rrlCount(t, ts.reg, "dnslb_dns_rrl_dropped_total"), st.sent)
		})
	}
	c.SetReadDeadline(time.Now()) // ends the reader
	<-readDone
	st.dropped = rrlCount(t, ts.reg, "dnslb_dns_rrl_dropped_total")
	st.slipMetrics = rrlCount(t, ts.reg, "dnslb_dns_rrl_slipped_total")
	st.full, st.slipped, st.bytesOut = int(got.full.Load()), int(got.slipped.Load()), int(got.bytes.Load())
	if st.full+st.slipped+int(st.dropped) != n {
		t.Fatalf("%s; %v dropped: replies lost", st, st.dropped)
	}
	return st
}

// waitFor polls cond for up to 10 s, then fails with what() says.
func waitFor(t *testing.T, cond func() bool, what func() string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s: %s", what())
		}
		time.Sleep(50 * time.Microsecond)
	}
}

// rrlCount sums an RRL counter over its kinds.
func rrlCount(t *testing.T, reg prometheus.Gatherer, name string) float64 {
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

// withID packs q with id i.
func withID(q []byte, i int) []byte {
	out := append([]byte(nil), q...)
	binary.BigEndian.PutUint16(out, uint16(i))
	return out
}

// TestRRLAmplification: one source (loopback: nothing is exempt by
// default) asking for a big answer at full rate — 20,000 queries a second
// by the limiter's clock — gets back no more bytes than it sent, through
// the fast path and through the full handler. Without RRL the ratio was
// 28.6 (fast path) and 27.3 (full handler).
func TestRRLAmplification(t *testing.T) {
	for _, tc := range []struct {
		name, qname string
		n           int
	}{
		{"fast path", "big.lb.test.", 20000},
		{"full handler", "alias.lb.test.", 5000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := new(fakeClock)
			ts := startRRL(t, dnsserver.DefaultRRL(), clock)
			q := pack(t, withEDNS(query(tc.qname, dns.TypeTXT), 4096, false, 0))
			c := udpFrom(t, "127.0.0.1", ts.Addr())
			st := flood(t, ts, c, tc.n, func(i int) []byte {
				if i%20 == 0 {
					clock.Advance(time.Millisecond)
				}
				return withID(q, i)
			})
			t.Log(st)
			if ratio := float64(st.bytesOut) / float64(st.bytesIn); ratio > 1 {
				t.Errorf("%s: amplification %.2f > 1", st, ratio)
			}
			if st.full < dnsserver.DefaultRRLRate || st.slipped == 0 {
				t.Errorf("%s: want the first %d answered whole, then truncated ones", st, dnsserver.DefaultRRLRate)
			}
		})
	}
}

// TestRRLResolverLosesNothing is the case RRL must not fire in: resolvers
// at realistic rates, from loopback with the default limits, get every
// answer whole — a busy resolver's 50 queries a second over answers,
// NODATA and random NXDOMAIN names, and a farm behind one /24 asking one
// name 95 times a second. Above the rate (150 a second) the same name is
// limited, so the test can tell.
func TestRRLResolverLosesNothing(t *testing.T) {
	names := []struct {
		qname string
		qtype uint16
	}{{"www.lb.test.", dns.TypeA}, {"pool.lb.test.", dns.TypeA}, {"big.lb.test.", dns.TypeTXT}, {"www.lb.test.", dns.TypeMX}, {"", dns.TypeA}}
	mixed := func(i int) []byte {
		n := names[i%len(names)]
		if n.qname == "" {
			n.qname = fmt.Sprintf("r%d.lb.test.", i) // NXDOMAIN, a new name each time
		}
		return withID(pack(t, withEDNS(query(n.qname, n.qtype), 1232, false, 0)), i)
	}
	one := func(i int) []byte { return withID(pack(t, query("www.lb.test.", dns.TypeA)), i) }
	for _, tc := range []struct {
		name    string
		perSec  int
		seconds int
		query   func(int) []byte
		limited bool
	}{
		{"resolver 50/s mixed", 50, 10, mixed, false},
		{"farm 95/s one name", 95, 10, one, false},
		{"150/s one name", 150, 10, one, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := new(fakeClock)
			ts := startRRL(t, dnsserver.DefaultRRL(), clock)
			c := udpFrom(t, "127.0.0.1", ts.Addr())
			gap := time.Second / time.Duration(tc.perSec)
			st := flood(t, ts, c, tc.perSec*tc.seconds, func(i int) []byte {
				clock.Advance(gap)
				return tc.query(i)
			})
			t.Log(st)
			if lost := st.sent - st.full; (lost > 0) != tc.limited {
				t.Errorf("%s: %d queries not answered whole (dropped %v, truncated %d); limited want %v", st, lost, st.dropped, st.slipped, tc.limited)
			}
		})
	}
}

// TestRRLSlip: over the rate, every Slip-th response is sent empty with
// TC set and the rest dropped; the metrics count both. The clock stands
// still, so the burst (the rate) is answered whole and the rest is over.
func TestRRLSlip(t *testing.T) {
	const n, rate = 400, 100
	for _, slip := range []int{0, 1, 2, 3} {
		t.Run(fmt.Sprint("slip ", slip), func(t *testing.T) {
			rrl := dnsserver.RRL{Rate: rate, Slip: slip, Window: time.Second}
			ts := startRRL(t, rrl, new(fakeClock))
			c := udpFrom(t, "127.0.0.1", ts.Addr())
			q := pack(t, query("www.lb.test.", dns.TypeA))
			st := flood(t, ts, c, n, func(i int) []byte { return withID(q, i) })
			over := n - rate
			wantSlipped := 0
			if slip > 0 {
				wantSlipped = over / slip
			}
			if st.full != rate || st.slipped != wantSlipped || st.slipMetrics != float64(wantSlipped) || st.dropped != float64(over-wantSlipped) {
				t.Errorf("%s; dropped %v, slipped metric %v; want %d whole, %d truncated, %d dropped",
					st, st.dropped, st.slipMetrics, rate, wantSlipped, over-wantSlipped)
			}
		})
	}
}

// ask sends q from c and returns the reply (TC and all).
func ask(t *testing.T, c *net.UDPConn, q []byte) *dns.Msg {
	t.Helper()
	if _, err := c.Write(q); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 65535)
	k, err := c.Read(buf)
	if err != nil {
		t.Fatalf("no reply from %s: %v", c.LocalAddr(), err)
	}
	r := new(dns.Msg)
	if err := r.Unpack(buf[:k]); err != nil {
		t.Fatalf("reply does not unpack: %v", err)
	}
	return r
}

// TestRRLPrefixesAndExempt: sources in one /24 share a bucket, another
// /24 has its own, an exempt source is always answered (though counted in
// the bucket it shares), and TCP is never limited.
func TestRRLPrefixesAndExempt(t *testing.T) {
	const rate = 10
	exempt, err := dnsserver.ParsePrefixes([]string{"127.0.0.3", "10.0.0.0/8"})
	if err != nil {
		t.Fatal(err)
	}
	ts := startRRL(t, dnsserver.RRL{Rate: rate, Slip: 1, Window: time.Second, Exempt: exempt}, new(fakeClock))
	q := pack(t, query("www.lb.test.", dns.TypeA))
	whole := func(src string) (n int) {
		c := udpFrom(t, src, ts.Addr())
		for range rate {
			r := ask(t, c, q)
			if !r.Truncated && len(r.Answer) == 2 {
				n++
			} else if !r.Truncated || len(r.Answer)+len(r.Ns)+len(r.Extra) > 0 || len(r.Question) != 1 {
				t.Errorf("from %s: a limited reply must be empty with TC and the question:\n%v", src, r)
			}
		}
		return n
	}
	for _, step := range []struct {
		src   string
		whole int
	}{
		{"127.0.0.1", rate}, // the burst
		{"127.0.0.2", 0},    // same /24: the same bucket, spent
		{"127.0.0.3", rate}, // same /24, exempt
		{"127.0.1.1", rate}, // another /24
		{"127.0.0.1", 0},
	} {
		if got := whole(step.src); got != step.whole {
			t.Errorf("from %s: %d of %d answered whole, want %d", step.src, got, rate, step.whole)
		}
	}
	for range 3 {
		if r := exchange(t, "tcp", ts.Addr(), query("www.lb.test.", dns.TypeA)); r.Truncated || len(r.Answer) != 2 {
			t.Errorf("over TCP: %v", r)
		}
	}
}

// TestRRLOff: with RRL off nothing is limited.
func TestRRLOff(t *testing.T) {
	ts := startRRL(t, dnsserver.RRL{Off: true}, new(fakeClock))
	c := udpFrom(t, "127.0.0.1", ts.Addr())
	q := pack(t, query("www.lb.test.", dns.TypeA))
	if st := flood(t, ts, c, 300, func(i int) []byte { return withID(q, i) }); st.full != 300 {
		t.Errorf("RRL off: %s", st)
	}
}

// TestRRLConfigInvalid: New names the field out of range.
func TestRRLConfigInvalid(t *testing.T) {
	for _, tc := range []struct {
		rrl  dnsserver.RRL
		want string
	}{
		{dnsserver.RRL{Rate: 0, Slip: 2, Window: time.Second}, "dnsserver: RRL rate 0: must be 1 to 1000000 responses per second"},
		{dnsserver.RRL{Rate: 5, Slip: 11, Window: time.Second}, "dnsserver: RRL slip 11: must be 0 (never) to 10"},
		{dnsserver.RRL{Rate: 5, Slip: 2, Window: time.Millisecond}, "dnsserver: RRL window 1ms: must be 1s to 1m0s"},
		{dnsserver.RRL{Rate: 5, Slip: 2, Window: time.Second, Slots: 3}, "dnsserver: RRL slots 3: must be a power of two"},
	} {
		_, err := dnsserver.New(dnsserver.Config{Snapshot: new(atomic.Pointer[zone.Snapshot]), RRL: &tc.rrl})
		if err == nil || err.Error() != tc.want {
			t.Errorf("%+v: %v, want %q", tc.rrl, err, tc.want)
		}
	}
	if _, err := dnsserver.ParsePrefixes([]string{"10.0.0.0/8", "nope"}); err == nil ||
		err.Error() != `"nope": not an address or CIDR prefix (e.g. 192.0.2.0/24 or 2001:db8::/56)` {
		t.Errorf("ParsePrefixes: %v", err)
	}
}
