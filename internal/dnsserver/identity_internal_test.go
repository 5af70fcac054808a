package dnsserver

import (
	"testing"

	"github.com/miekg/dns"
)

// packNSID packs a query for qname A with EDNS, a client cookie when
// cookie, and the NSID option when nsid.
func packNSID(t *testing.T, qname string, cookie, nsid bool) []byte {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(qname, dns.TypeA)
	m.SetEdns0(1232, false)
	opt := m.IsEdns0()
	if cookie {
		opt.Option = append(opt.Option, &dns.EDNS0_COOKIE{Code: dns.EDNS0COOKIE, Cookie: "0102030405060708"})
	}
	if nsid {
		opt.Option = append(opt.Option, &dns.EDNS0_NSID{Code: dns.EDNS0NSID})
	}
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestFastPathNSID: with an NSID configured, the fast path leaves queries
// that ask for it to the full handler and still answers the others (a
// cookie alone included); without one it answers them all, as the full
// handler does, with no NSID.
func TestFastPathNSID(t *testing.T) {
	on := diffServer(t)
	on.cfg.Identity.NSID, on.nsidHex = []byte("a"), "61"
	off := diffServer(t)
	for _, tc := range []struct {
		name         string
		s            *Server
		cookie, nsid bool
		fast         bool
	}{
		{"nsid on, asked", on, false, true, false},
		{"nsid on, asked after a cookie", on, true, true, false},
		{"nsid on, cookie only", on, true, false, true},
		{"nsid on, no option", on, false, false, true},
		{"nsid off, asked", off, true, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fast, full := both(tc.s, packNSID(t, "www.lb.test.", tc.cookie, tc.nsid))
			if (fast != nil) != tc.fast {
				t.Fatalf("fast path answered: %v, want %v", fast != nil, tc.fast)
			}
			if fast != nil {
				sameAnswer(t, tc.name, fast, full)
			}
		})
	}
}

// TestHasOption reads option lists, malformed ones included.
func TestHasOption(t *testing.T) {
	for _, tc := range []struct {
		b    []byte
		want bool
	}{
		{nil, false},
		{[]byte{0, 3, 0, 0}, true},
		{[]byte{0, 10, 0, 2, 1, 2, 0, 3, 0, 0}, true},
		{[]byte{0, 10, 0, 9, 1, 2, 0, 3, 0, 0}, false}, // the cookie runs past the end
		{[]byte{0, 10, 0, 0, 0}, false},
	} {
		if got := hasOption(tc.b, dns.EDNS0NSID); got != tc.want {
			t.Errorf("hasOption(%v) = %v, want %v", tc.b, got, tc.want)
		}
	}
}
