package dnsserver

import (
	"context"
	"encoding/binary"
	"log/slog"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// keyOf is the bucket key of the response to req from src, as a string.
func keyOf(t testing.TB, s *Server, req []byte, src string) (rrlKind, string) {
	t.Helper()
	_, full := both(s, req)
	if full == nil {
		t.Fatalf("no reply to %x", req)
	}
	var key [rrlKeyMax]byte
	k, n := rrlKey(&key, full, netip.MustParseAddr(src))
	return k, string(key[:n])
}

// TestRRLKeys: which responses share a bucket. A source counts by its /24
// or /56; positive answers per name and type (case aside); NXDOMAIN and
// NODATA per zone, whatever the name; errors per source only.
func TestRRLKeys(t *testing.T) {
	s := diffServer(t)
	q := func(name string, qtype uint16) []byte { return packQuery(name, qtype, true, false) }
	same := []struct {
		what       string
		a, b       []byte
		srcA, srcB string
		kind       rrlKind
	}{
		{"one /24", q("www.lb.test.", dns.TypeA), q("www.lb.test.", dns.TypeA), "192.0.2.1", "192.0.2.254", kindAnswer},
		{"one /56", q("www.lb.test.", dns.TypeA), q("www.lb.test.", dns.TypeA), "2001:db8:0:100::1", "2001:db8:0:1ff:ffff::9", kindAnswer},
		{"case", q("www.lb.test.", dns.TypeA), q("WWW.Lb.TeSt.", dns.TypeA), "192.0.2.1", "192.0.2.1", kindAnswer},
		{"NXDOMAIN per zone", q("x1.lb.test.", dns.TypeA), q("other.x2.LB.test.", dns.TypeMX), "192.0.2.1", "192.0.2.1", kindNXDomain},
		{"NODATA per zone", q("h1.lb.test.", dns.TypeMX), q("www.lb.test.", dns.TypeTXT), "192.0.2.1", "192.0.2.1", kindNoData},
		{"errors per source", q("www.example.com.", dns.TypeA), q("www.example.org.", dns.TypeMX), "192.0.2.1", "192.0.2.9", kindError},
	}
	for _, tc := range same {
		ka, a := keyOf(t, s, tc.a, tc.srcA)
		kb, b := keyOf(t, s, tc.b, tc.srcB)
		if ka != tc.kind || kb != tc.kind || a != b {
			t.Errorf("%s: kinds %s, %s (want %s), keys %x and %x differ", tc.what, kindNames[ka], kindNames[kb], kindNames[tc.kind], a, b)
		}
	}
	// An answer too big for UDP (TC, no records) counts with the answer.
	_, full := both(s, q("h1.lb.test.", dns.TypeAAAA))
	var ka, kb [rrlKeyMax]byte
	src := netip.MustParseAddr("192.0.2.1")
	kindA, na := rrlKey(&ka, full, src)
	kindB, nb := rrlKey(&kb, slipReply(full), src)
	if kindA != kindAnswer || kindB != kindAnswer || string(ka[:na]) != string(kb[:nb]) {
		t.Errorf("a truncated answer: kinds %s and %s, keys %x and %x", kindNames[kindA], kindNames[kindB], ka[:na], kb[:nb])
	}
	differ := []struct {
		what       string
		a, b       []byte
		srcA, srcB string
	}{
		{"two /24s", q("www.lb.test.", dns.TypeA), q("www.lb.test.", dns.TypeA), "192.0.2.1", "192.0.3.1"},
		{"two /56s", q("www.lb.test.", dns.TypeA), q("www.lb.test.", dns.TypeA), "2001:db8:0:100::1", "2001:db8:0:200::1"},
		{"names", q("www.lb.test.", dns.TypeA), q("h1.lb.test.", dns.TypeA), "192.0.2.1", "192.0.2.1"},
		{"types", q("h1.lb.test.", dns.TypeA), q("h1.lb.test.", dns.TypeAAAA), "192.0.2.1", "192.0.2.1"},
		{"kinds", q("x.lb.test.", dns.TypeA), q("h1.lb.test.", dns.TypeMX), "192.0.2.1", "192.0.2.1"},
		{"families", q("www.lb.test.", dns.TypeA), q("www.lb.test.", dns.TypeA), "0.0.0.0", "::"},
	}
	for _, tc := range differ {
		if _, a := keyOf(t, s, tc.a, tc.srcA); a == func() string { _, b := keyOf(t, s, tc.b, tc.srcB); return b }() {
			t.Errorf("%s: one key %x", tc.what, a)
		}
	}
}

// TestRRLBucket: the rate refills, the burst is one second's worth, and
// an excess is remembered for up to the window.
func TestRRLBucket(t *testing.T) {
	var now time.Duration
	l, err := newLimiter(RRL{Rate: 10, Slip: 2, Window: 3 * time.Second, Slots: 1, Clock: func() time.Duration { return now }}, nil)
	if err != nil {
		t.Fatal(err)
	}
	takeN := func(n int) (ok int) {
		for range n {
			if l.take(1, uint32(now/time.Millisecond)) {
				ok++
			}
		}
		return ok
	}
	steps := []struct {
		advance time.Duration
		n, ok   int
	}{
		{0, 10, 10},                    // the burst: one second's worth
		{time.Second, 10, 10},          // a second refills it
		{100 * time.Millisecond, 2, 1}, // 10/s is one per 100 ms
		{0, 100, 0},                    // a flood: its debt grows up to the window (3 s)
		{3 * time.Second, 1, 0},        // 3 s later: still paying it off
		{200 * time.Millisecond, 1, 1}, // repaid
		{10 * time.Minute, 10, 10},     // a long pause: full again
	}
	for i, st := range steps {
		now += st.advance
		if ok := takeN(st.n); ok != st.ok {
			t.Errorf("step %d (+%s): %d of %d within the rate, want %d", i, st.advance, ok, st.n, st.ok)
		}
	}
}

// TestSlipReply: a slip is the header and question, TC set, no records.
func TestSlipReply(t *testing.T) {
	s := diffServer(t)
	_, full := both(s, packQuery("www.lb.test.", dns.TypeA, true, false))
	r := new(dns.Msg)
	if err := r.Unpack(slipReply(full)); err != nil {
		t.Fatal(err)
	}
	if !r.Truncated || !r.Response || r.Id != 0xBEEF || len(r.Question) != 1 || len(r.Answer)+len(r.Ns)+len(r.Extra) != 0 {
		t.Errorf("slip:\n%v", r)
	}
}

// FuzzRRLResponse feeds arbitrary bytes as responses to the key and the
// slip: no panic; a slip is no longer than what it cuts, TC set.
func FuzzRRLResponse(f *testing.F) {
	s := diffServer(f)
	for _, q := range [][]byte{
		packQuery("www.lb.test.", dns.TypeA, true, false), packQuery("x.lb.test.", dns.TypeA, false, false),
		packQuery("h1.lb.test.", dns.TypeMX, true, true), packQuery("alias.lb.test.", dns.TypeMX, false, false),
	} {
		_, full := both(s, q)
		f.Add(full)
	}
	f.Fuzz(func(t *testing.T, resp []byte) {
		var key [rrlKeyMax]byte
		k, n := rrlKey(&key, resp, netip.MustParseAddr("2001:db8::1"))
		if k >= numKinds || n < rrlKeyHead || n > rrlKeyMax {
			t.Fatalf("kind %d, key length %d", k, n)
		}
		if len(resp) < 12 {
			return
		}
		in := len(resp)
		slip := slipReply(resp)
		if len(slip) > in || len(slip) < 12 || slip[2]&0x02 == 0 {
			t.Fatalf("slip of %d bytes from %d: %x", len(slip), in, slip)
		}
	})
}

// FuzzUDPPath feeds arbitrary datagrams through what a UDP loop does with
// one — the fast path, else the full handler, then RRL (a rate of 1 with
// a clock that stands still, so after the first everything is limited;
// from an exempt source when the datagram's length is even). No panic,
// nothing logged; a reply unpacks, answers the query's id, fits 1,232
// bytes, and one from a limited source is either nothing or a slip.
func FuzzUDPPath(f *testing.F) {
	for _, q := range [][]byte{
		packQuery("www.lb.test.", dns.TypeA, true, false), packQuery("x.lb.test.", dns.TypeA, false, false),
		packQuery("alias.lb.test.", dns.TypeA, true, true), packQuery("lb.test.", dns.TypeANY, false, false),
	} {
		f.Add(q)
	}
	s := diffServer(f)
	errs := new(errorCounter)
	s.log = errs.logger()
	rrl, err := newLimiter(RRL{Rate: 1, Slip: 2, Window: time.Second, Slots: 64, Clock: func() time.Duration { return 0 },
		Exempt: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}}, nil)
	if err != nil {
		f.Fatal(err)
	}
	s.rrl = rrl
	sc := new(scratch)
	w := &udpWriter{local: &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 53}}
	buf := make([]byte, 65535)
	f.Fuzz(func(t *testing.T, req []byte) {
		src := netip.MustParseAddr("198.51.100.7")
		if len(req)%2 == 0 {
			src = netip.MustParseAddr("192.0.2.7")
		}
		resp := s.answerUDP(req, buf, sc, w, src, func() net.Addr { return net.UDPAddrFromAddrPort(netip.AddrPortFrom(src, 5353)) })
		if n := errs.n.Load(); n > 0 {
			t.Fatalf("%d errors logged", n)
		}
		if resp == nil {
			return
		}
		r := new(dns.Msg)
		if err := r.Unpack(resp); err != nil {
			t.Fatalf("reply to %x does not unpack: %v", req, err)
		}
		if r.Id != binary.BigEndian.Uint16(req) || !r.Response || len(resp) > DefaultMaxUDPSize {
			t.Fatalf("reply id %d qr %v, %d bytes, to %x", r.Id, r.Response, len(resp), req)
		}
	})
}

// errorCounter is a slog.Handler that counts error records.
type errorCounter struct{ n atomic.Int64 }

func (e *errorCounter) logger() *slog.Logger                         { return slog.New(e) }
func (e *errorCounter) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelError }
func (e *errorCounter) Handle(context.Context, slog.Record) error {
	e.n.Add(1)
	return nil
}
func (e *errorCounter) WithAttrs([]slog.Attr) slog.Handler { return e }
func (e *errorCounter) WithGroup(string) slog.Handler      { return e }
