package dnsserver_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/dnslb/dnslb/internal/dnsserver"
	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/zone"
)

// withEDNS adds an OPT record to m.
func withEDNS(m *dns.Msg, size uint16, do bool, version uint8) *dns.Msg {
	m.SetEdns0(size, do)
	m.IsEdns0().SetVersion(version)
	return m
}

func TestEDNS(t *testing.T) {
	ts := start(t, zone.Build(fixture()), nil)
	cases := []struct {
		name    string
		req     *dns.Msg
		rcode   int
		opt     bool // the reply has an OPT
		do      bool
		answers int
	}{
		{"no OPT in, none out", query("www.lb.test.", dns.TypeA), dns.RcodeSuccess, false, false, 2},
		{"OPT echoed", withEDNS(query("www.lb.test.", dns.TypeA), 4096, false, 0), dns.RcodeSuccess, true, false, 2},
		{"DO copied", withEDNS(query("www.lb.test.", dns.TypeA), 1400, true, 0), dns.RcodeSuccess, true, true, 2},
		{"small buffer", withEDNS(query("www.lb.test.", dns.TypeA), 100, false, 0), dns.RcodeSuccess, true, false, 2},
		{"negative answer", withEDNS(query("missing.lb.test.", dns.TypeA), 1232, true, 0), dns.RcodeNameError, true, true, 0},
		{"refused", withEDNS(query("example.com.", dns.TypeA), 1232, false, 0), dns.RcodeRefused, true, false, 0},
		{"version 1", withEDNS(query("www.lb.test.", dns.TypeA), 4096, true, 1), dns.RcodeBadVers, true, true, 0},
		{"version 255", withEDNS(query("www.lb.test.", dns.TypeA), 512, false, 255), dns.RcodeBadVers, true, false, 0},
	}
	for _, network := range []string{"udp", "tcp"} {
		for _, tc := range cases {
			t.Run(network+"/"+tc.name, func(t *testing.T) {
				r := exchange(t, network, ts.Addr(), tc.req.Copy())
				if r.Rcode != tc.rcode || len(r.Answer) != tc.answers {
					t.Errorf("rcode %s with %d answers, want %s with %d", dns.RcodeToString[r.Rcode], len(r.Answer), dns.RcodeToString[tc.rcode], tc.answers)
				}
				opt := r.IsEdns0()
				if (opt != nil) != tc.opt {
					t.Fatalf("reply OPT %v, want present=%v", opt, tc.opt)
				}
				if opt == nil {
					return
				}
				if opt.UDPSize() != dnsserver.DefaultMaxUDPSize || opt.Do() != tc.do || opt.Version() != 0 {
					t.Errorf("reply OPT size %d do=%v version %d; want %d, do=%v, version 0", opt.UDPSize(), opt.Do(), opt.Version(), dnsserver.DefaultMaxUDPSize, tc.do)
				}
				if n := len(r.Extra); n != 1 {
					t.Errorf("additional holds %d records, want only the OPT", n)
				}
			})
		}
	}
}

// The size of the packed reply on the wire of each fixture name, for the
// preconditions of the truncation cases.
func packedLen(t *testing.T, m *dns.Msg) int {
	t.Helper()
	m = m.Copy()
	m.Compress = true
	wire, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return len(wire)
}

func TestTruncation(t *testing.T) {
	ts := start(t, zone.Build(fixture()), nil)
	addr := ts.Addr()
	const noEDNS = 0
	cases := []struct {
		name    string
		network string
		edns    uint16 // 0: no OPT
		tc      bool
		values  int // of the name: all in the answer, or fewer with TC
		ns      int
	}{
		{"big.lb.test.", "udp", noEDNS, true, 30, 0},
		{"big.lb.test.", "udp", 600, true, 30, 0},
		{"big.lb.test.", "udp", 1232, false, 30, 2},
		{"big.lb.test.", "udp", 4096, false, 30, 2},
		{"big.lb.test.", "tcp", noEDNS, false, 30, 2},
		{"huge.lb.test.", "udp", 4096, true, 60, 0}, // more than our 1232
		{"huge.lb.test.", "udp", noEDNS, true, 60, 0},
		{"huge.lb.test.", "tcp", noEDNS, false, 60, 2},
		{"huge.lb.test.", "tcp", 1232, false, 60, 2},
		// Only the authority does not fit: it goes, and TC stays clear.
		{"edge.lb.test.", "udp", noEDNS, false, 17, 0},
		{"edge.lb.test.", "tcp", noEDNS, false, 17, 2},
	}
	for _, tc := range cases {
		name := tc.network + "/" + tc.name
		m := query(tc.name, dns.TypeAAAA)
		limit := dns.MinMsgSize
		if tc.edns != noEDNS {
			m.SetEdns0(tc.edns, false)
			limit = int(min(tc.edns, dnsserver.DefaultMaxUDPSize))
		}
		r := exchange(t, tc.network, addr, m)
		if r.Rcode != dns.RcodeSuccess || r.Truncated != tc.tc {
			t.Errorf("%s edns %d: rcode %s tc=%v, want NOERROR tc=%v", name, tc.edns, dns.RcodeToString[r.Rcode], r.Truncated, tc.tc)
		}
		if n := len(r.Answer); !tc.tc && n != tc.values || tc.tc && (n == 0 || n >= tc.values) {
			t.Errorf("%s edns %d: %d answers of %d values", name, tc.edns, n, tc.values)
		}
		if len(r.Ns) != tc.ns {
			t.Errorf("%s edns %d: %d authority records, want %d", name, tc.edns, len(r.Ns), tc.ns)
		}
		if l := packedLen(t, r); tc.network == "udp" && l > limit {
			t.Errorf("%s edns %d: reply of %d bytes, more than %d", name, tc.edns, l, limit)
		}
		if (r.IsEdns0() != nil) != (tc.edns != noEDNS) {
			t.Errorf("%s edns %d: reply OPT %v", name, tc.edns, r.IsEdns0())
		}
	}
	// The edge case is one: its answer fits 512 bytes, not with the NS.
	r := exchange(t, "tcp", addr, query("edge.lb.test.", dns.TypeAAAA))
	full := packedLen(t, r)
	r.Ns = nil
	if bare := packedLen(t, r); bare > dns.MinMsgSize || full <= dns.MinMsgSize {
		t.Errorf("edge.lb.test.: %d bytes with NS, %d without; want > 512 and <= 512", full, bare)
	}
}

// An answer bigger than a TCP message can hold (here about 100 kB of TXT)
// is cut to fit, with TC set, instead of going unanswered; over UDP it is
// cut to the client's size.
func TestTruncationBeyondTCP(t *testing.T) {
	const z = "lb.test."
	values := make([]string, 100)
	for i := range values {
		values[i] = fmt.Sprintf("%03d", i) + strings.Repeat("x", 997)
	}
	in := zone.Input{Zones: []record.Zone{record.NewZone(z)}, Sets: []record.Set{set(z, "giant.lb.test.", record.TXT, "", 0, values...)}}
	ts := start(t, zone.Build(in), nil)
	for network, limit := range map[string]int{"tcp": dns.MaxMsgSize, "udp": dnsserver.DefaultMaxUDPSize} {
		r := exchange(t, network, ts.Addr(), withEDNS(query("giant.lb.test.", dns.TypeTXT), 4096, false, 0))
		if r.Rcode != dns.RcodeSuccess || !r.Truncated || len(r.Answer) == 0 || len(r.Answer) >= len(values) || len(r.Ns) != 0 {
			t.Errorf("%s: %s tc=%v with %d of %d values, %d authority; want NOERROR, tc, some values, none",
				network, dns.RcodeToString[r.Rcode], r.Truncated, len(r.Answer), len(values), len(r.Ns))
		}
		if l := packedLen(t, r); l > limit {
			t.Errorf("%s: reply of %d bytes, more than %d", network, l, limit)
		}
	}
}
