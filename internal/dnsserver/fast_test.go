package dnsserver

import (
	"net"
	"sync/atomic"
	"testing"

	"github.com/miekg/dns"

	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/selector"
	"github.com/dnslb/dnslb/internal/zone"
)

// zeroRand draws 0 every time, so both paths choose the same sets.
type zeroRand struct{}

func (zeroRand) Uint64N(uint64) uint64 { return 0 }

func diffSnapshot(t testing.TB) *zone.Snapshot {
	t.Helper()
	return zone.Build(diffInput(t))
}

// diffInput is the zone and sets of diffSnapshot.
func diffInput(t testing.TB) zone.Input {
	t.Helper()
	z := record.NewZone("lb.test.")
	z.NS = []string{"ns1.lb.test.", "ns2.lb.test."}
	z.NSAddresses = map[string][]string{"ns1.lb.test.": {"192.0.2.53", "2001:db8::53"}}
	z.Policies = map[string]record.Policy{"multi.lb.test.": record.Multivalue, "pool.lb.test.": record.Weighted}
	sets := []record.Set{
		{Key: record.Key{Name: "h1", Type: record.A}, TTL: 300, Values: []string{"10.1.0.1"}},
		{Key: record.Key{Name: "h1", Type: record.AAAA}, TTL: 300, Values: []string{"2001:db8::1", "2001:db8::2"}},
		{Key: record.Key{Name: "txt", Type: record.TXT}, TTL: 60, Values: []string{"hello \"world\"", string(make([]byte, 300))}},
		{Key: record.Key{Name: "mail", Type: record.MX}, TTL: 60, Values: []string{"10 mx.example.com."}},
		{Key: record.Key{Name: "_s._tcp", Type: record.SRV}, TTL: 60, Values: []string{"1 2 443 t.lb.test."}},
		{Key: record.Key{Name: "alias", Type: record.CNAME}, TTL: 60, Values: []string{"www.lb.test."}},
		{Key: record.Key{Name: "out", Type: record.CNAME}, TTL: 60, Values: []string{"x.example.com."}},
		{Key: record.Key{Name: "a.b.deep", Type: record.A}, TTL: 60, Values: []string{"10.9.9.9"}},
	}
	for i := range 10 {
		sets = append(sets, record.Set{Key: record.Key{Name: "www", Type: record.A, SetID: string(rune('a' + i))},
			Weight: (i/2 + 1) * 10, TTL: 300, Values: []string{net.IPv4(127, 0, 1, byte(i+1)).String()}})
		sets = append(sets, record.Set{Key: record.Key{Name: "multi", Type: record.A, SetID: string(rune('a' + i))},
			Weight: 10, TTL: 30, Values: []string{net.IPv4(127, 0, 2, byte(i+1)).String()}})
	}
	for i := range sets {
		if err := sets[i].Normalize("lb.test."); err != nil {
			t.Fatal(err)
		}
	}
	return zone.Input{Rev: 7, Zones: []record.Zone{z}, Sets: sets}
}

func diffServer(t testing.TB) *Server {
	t.Helper()
	var p atomic.Pointer[zone.Snapshot]
	p.Store(diffSnapshot(t))
	s, err := New(Config{Snapshot: &p, Rand: zeroRand{}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// both answers req on the fast path (nil if it declines) and on the full
// handler.
func both(s *Server, req []byte) (fast, full []byte) {
	fast = s.fastAnswer(req, make([]byte, 0, 65535), new(scratch))
	w := &udpWriter{local: &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 53}, remote: &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5353}}
	w.buf = make([]byte, 0, 65535)
	s.slowAnswer(req, w)
	return fast, w.out
}

// sameAnswer compares two responses as DNS messages, record by record.
func sameAnswer(t *testing.T, what string, fast, full []byte) {
	t.Helper()
	var a, b dns.Msg
	if err := a.Unpack(fast); err != nil {
		t.Fatalf("%s: fast path reply does not unpack: %v", what, err)
	}
	if err := b.Unpack(full); err != nil {
		t.Fatalf("%s: full reply does not unpack: %v", what, err)
	}
	if a.String() != b.String() {
		t.Errorf("%s: fast and full paths differ\nfast:\n%s\nfull:\n%s", what, &a, &b)
	}
}

func packQuery(name string, qtype uint16, edns bool, do bool) []byte {
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.Id = 0xBEEF
	m.CheckingDisabled = true
	if edns {
		m.SetEdns0(4096, do)
	}
	b, _ := m.Pack()
	return b
}

// TestFastPathMatchesFullHandler is the differential test: every query the
// fast path answers gets the same reply from the full handler; and the
// common ones do take the fast path.
func TestFastPathMatchesFullHandler(t *testing.T) {
	s := diffServer(t)
	cases := []struct {
		name  string
		qtype uint16
		fast  bool // must be answered by the fast path
	}{
		{"www.lb.test.", dns.TypeA, true},
		{"WwW.Lb.TeSt.", dns.TypeA, true},
		{"h1.lb.test.", dns.TypeA, true},
		{"h1.lb.test.", dns.TypeAAAA, true},
		{"h1.lb.test.", dns.TypeMX, true},       // NODATA
		{"nothere.lb.test.", dns.TypeA, true},   // NXDOMAIN
		{"NoThere.LB.test.", dns.TypeA, true},   // NXDOMAIN, mixed case
		{"b.deep.lb.test.", dns.TypeA, true},    // empty non-terminal
		{"pool.lb.test.", dns.TypeA, true},      // a pool with no sets
		{"www.example.com.", dns.TypeA, true},   // REFUSED
		{"multi.lb.test.", dns.TypeA, true},     // multivalue
		{"txt.lb.test.", dns.TypeTXT, true},     // TXT at the name
		{"mail.lb.test.", dns.TypeMX, true},     // MX at the name
		{"_s._tcp.lb.test.", dns.TypeSRV, true}, // SRV at the name
		{"out.lb.test.", dns.TypeA, true},       // CNAME leaving our zones
		{"alias.lb.test.", dns.TypeA, false},    // CNAME chain: full handler
		{"alias.lb.test.", dns.TypeMX, false},
		{"lb.test.", dns.TypeSOA, false},
		{"lb.test.", dns.TypeNS, false},
		{"www.lb.test.", dns.TypeANY, false},
	}
	for _, tc := range cases {
		for _, edns := range []bool{false, true} {
			for _, do := range []bool{false, true} {
				if do && !edns {
					continue
				}
				what := dns.TypeToString[tc.qtype] + " " + tc.name
				fast, full := both(s, packQuery(tc.name, tc.qtype, edns, do))
				if fast == nil {
					if tc.fast && tc.name != "txt.lb.test." { // TXT may exceed 512 without EDNS
						t.Errorf("%s (edns %v): not answered by the fast path", what, edns)
					}
					continue
				}
				if !tc.fast {
					t.Errorf("%s: the fast path answered a query it should leave alone", what)
				}
				sameAnswer(t, what, fast, full)
			}
		}
	}
}

// FuzzFastPath feeds arbitrary datagrams to both paths: the fast path must
// never panic, and whatever it answers, the full handler answers the same.
func FuzzFastPath(f *testing.F) {
	for _, q := range []struct {
		name string
		t    uint16
	}{{"www.lb.test.", dns.TypeA}, {"h1.lb.test.", dns.TypeAAAA}, {"x.lb.test.", dns.TypeA}, {"lb.test.", dns.TypeSOA}} {
		f.Add(packQuery(q.name, q.t, false, false))
		f.Add(packQuery(q.name, q.t, true, true))
	}
	s := diffServer(f)
	f.Fuzz(func(t *testing.T, req []byte) {
		fast, full := both(s, req)
		if fast == nil {
			return
		}
		if full == nil {
			t.Fatalf("fast path answered %x, the full handler did not", req)
		}
		sameAnswer(t, "fuzz", fast, full)
	})
}

// BenchmarkFastPath is the hot path, no I/O: a weighted answer, an
// ordinary name, and NXDOMAIN (with the SOA), as the anchors' mix has them.
func BenchmarkFastPath(b *testing.B) {
	s := diffServer(b)
	s.rnd = selector.Fast{}
	for _, q := range []struct{ name, qname string }{
		{"weighted", "www.lb.test."}, {"simple", "h1.lb.test."}, {"nxdomain", "x.lb.test."},
	} {
		b.Run(q.name, func(b *testing.B) {
			req := packQuery(q.qname, dns.TypeA, true, false)
			out := make([]byte, 0, 65535)
			sc := new(scratch)
			b.ReportAllocs()
			for b.Loop() {
				if s.fastAnswer(req, out, sc) == nil {
					b.Fatal("not answered")
				}
			}
		})
	}
}
