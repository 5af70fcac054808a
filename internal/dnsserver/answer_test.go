package dnsserver_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/dnslb/dnslb/internal/dnsserver"
	"github.com/dnslb/dnslb/internal/zone"
)

var long = strings.Repeat("a", 255) + `" "` + strings.Repeat("b", 45)

// answerCases are the answer rules and DNS behaviour, with firstRand as
// the server's randomness.
var answerCases = []Case{
	// The apex.
	{Qname: "lb.test.", Qtype: dns.TypeSOA, Answer: rrs(lbSOA), Ns: rrs(lbNS...)},
	{Qname: "lb.test.", Qtype: dns.TypeNS, Answer: rrs(lbNS...)},
	{Qname: "lb.test.", Qtype: dns.TypeA, Ns: rrs(lbNegSOA)},
	// Simple records, with the zone's NS in authority.
	{Qname: "www.lb.test.", Qtype: dns.TypeA, Answer: rrs("www.lb.test. 60 IN A 192.0.2.2", "www.lb.test. 60 IN A 192.0.2.1"), Ns: rrs(lbNS...)},
	{Qname: "www.lb.test.", Qtype: dns.TypeAAAA, Answer: rrs("www.lb.test. 60 IN AAAA 2001:db8::1"), Ns: rrs(lbNS...)},
	{Qname: "txt.lb.test.", Qtype: dns.TypeTXT, Answer: rrs(`txt.lb.test. 60 IN TXT "v=spf1 -all"`), Ns: rrs(lbNS...)},
	{Qname: "long.lb.test.", Qtype: dns.TypeTXT, Answer: rrs(`long.lb.test. 60 IN TXT "` + long + `"`), Ns: rrs(lbNS...)},
	{Qname: "quote.lb.test.", Qtype: dns.TypeTXT, Answer: rrs(`quote.lb.test. 60 IN TXT "say \"hi\" \\o/"`), Ns: rrs(lbNS...)},
	{Qname: "mx.lb.test.", Qtype: dns.TypeMX, Answer: rrs("mx.lb.test. 60 IN MX 10 mail.lb.test."), Ns: rrs(lbNS...)},
	{Qname: "_sip._tcp.lb.test.", Qtype: dns.TypeSRV, Answer: rrs("_sip._tcp.lb.test. 60 IN SRV 10 20 5060 sip.lb.test."), Ns: rrs(lbNS...)},
	// CNAME: chased inside our zones (even into another one), left to the
	// resolver outside them, NXDOMAIN when its target does not exist.
	{Qname: "alias.lb.test.", Qtype: dns.TypeA, Answer: rrs("alias.lb.test. 60 IN CNAME www.lb.test.",
		"www.lb.test. 60 IN A 192.0.2.1", "www.lb.test. 60 IN A 192.0.2.2"), Ns: rrs(lbNS...)},
	{Qname: "alias.lb.test.", Qtype: dns.TypeCNAME, Answer: rrs("alias.lb.test. 60 IN CNAME www.lb.test."), Ns: rrs(lbNS...)},
	{Qname: "alias.lb.test.", Qtype: dns.TypeMX, Answer: rrs("alias.lb.test. 60 IN CNAME www.lb.test."), Ns: rrs(lbNegSOA)},
	{Qname: "out.lb.test.", Qtype: dns.TypeA, Answer: rrs("out.lb.test. 60 IN CNAME www.example.com.")},
	{Qname: "dangling.lb.test.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError,
		Answer: rrs("dangling.lb.test. 60 IN CNAME nothere.lb.test."), Ns: rrs(lbNegSOA)},
	{Qname: "cross.lb.test.", Qtype: dns.TypeA, Answer: rrs("cross.lb.test. 60 IN CNAME www.sub.lb.test.",
		"www.sub.lb.test. 60 IN A 198.51.100.1"), Ns: rrs(subNS)},
	// Weighted: one whole set (firstRand picks i-1, both its values).
	{Qname: "pool.lb.test.", Qtype: dns.TypeA, Answer: rrs("pool.lb.test. 60 IN A 10.0.0.1", "pool.lb.test. 60 IN A 10.0.0.2"), Ns: rrs(lbNS...)},
	// Multivalue: eight of ten sets.
	{Qname: "multi.lb.test.", Qtype: dns.TypeA, Answer: rrs("multi.lb.test. 60 IN A 10.1.0.0", "multi.lb.test. 60 IN A 10.1.0.1",
		"multi.lb.test. 60 IN A 10.1.0.2", "multi.lb.test. 60 IN A 10.1.0.3", "multi.lb.test. 60 IN A 10.1.0.4",
		"multi.lb.test. 60 IN A 10.1.0.5", "multi.lb.test. 60 IN A 10.1.0.6", "multi.lb.test. 60 IN A 10.1.0.7"), Ns: rrs(lbNS...)},
	// Nothing eligible: fail-closed answers NODATA, weighted fails open.
	{Qname: "closed.lb.test.", Qtype: dns.TypeA, Ns: rrs(lbNegSOA)},
	{Qname: "open.lb.test.", Qtype: dns.TypeA, Answer: rrs("open.lb.test. 60 IN A 10.3.0.1"), Ns: rrs(lbNS...)},
	// NXDOMAIN and NODATA, both with the negative SOA.
	{Qname: "missing.lb.test.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: rrs(lbNegSOA)},
	{Qname: "www.missing.lb.test.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: rrs(lbNegSOA)},
	{Qname: "www.lb.test.", Qtype: dns.TypeMX, Ns: rrs(lbNegSOA)},
	{Qname: "b.lb.test.", Qtype: dns.TypeA, Ns: rrs(lbNegSOA)}, // empty non-terminal
	{Qname: "a.b.lb.test.", Qtype: dns.TypeA, Answer: rrs("a.b.lb.test. 60 IN A 192.0.2.10"), Ns: rrs(lbNS...)},
	{Qname: "empty.lb.test.", Qtype: dns.TypeA, Ns: rrs(lbNegSOA)},   // in Policies, no sets
	{Qname: "drained.lb.test.", Qtype: dns.TypeA, Ns: rrs(lbNegSOA)}, // its only set is draining
	// Outside our zones.
	{Qname: "example.com.", Qtype: dns.TypeA, Rcode: dns.RcodeRefused},
	{Qname: "test.", Qtype: dns.TypeSOA, Rcode: dns.RcodeRefused},
	{Qname: `x\.lb.test.`, Qtype: dns.TypeA, Rcode: dns.RcodeRefused}, // one label "x.lb" under test.
	// The longest zone wins.
	{Qname: "sub.lb.test.", Qtype: dns.TypeSOA, Answer: rrs(subSOA), Ns: rrs(subNS)},
	{Qname: "sub.lb.test.", Qtype: dns.TypeNS, Answer: rrs(subNS)},
	{Qname: "www.sub.lb.test.", Qtype: dns.TypeA, Answer: rrs("www.sub.lb.test. 60 IN A 198.51.100.1"), Ns: rrs(subNS)},
	{Qname: "missing.sub.lb.test.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: rrs(subNegSOA)},
	// The question's case is kept, in the question and in owner names.
	{Qname: "WwW.Lb.TeSt.", Qtype: dns.TypeA, Answer: rrs("WwW.Lb.TeSt. 60 IN A 192.0.2.1", "WwW.Lb.TeSt. 60 IN A 192.0.2.2"), Ns: rrs(lbNS...)},
	{Qname: "ALIAS.lb.TEST.", Qtype: dns.TypeA, Answer: rrs("ALIAS.lb.TEST. 60 IN CNAME www.lb.test.",
		"www.lb.test. 60 IN A 192.0.2.1", "www.lb.test. 60 IN A 192.0.2.2"), Ns: rrs(lbNS...)},
	{Qname: "MISSING.lb.test.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: rrs(lbNegSOA)},
	{Qname: "EXAMPLE.com.", Qtype: dns.TypeA, Rcode: dns.RcodeRefused},
	// ANY, minimally (RFC 8482).
	{Qname: "www.lb.test.", Qtype: dns.TypeANY, Answer: rrs(`www.lb.test. 900 IN HINFO "RFC8482" ""`)},
	{Qname: "Www.LB.test.", Qtype: dns.TypeANY, Answer: rrs(`Www.LB.test. 900 IN HINFO "RFC8482" ""`)},
	{Qname: "b.lb.test.", Qtype: dns.TypeANY, Answer: rrs(`b.lb.test. 900 IN HINFO "RFC8482" ""`)},
	{Qname: "dangling.lb.test.", Qtype: dns.TypeANY, Answer: rrs(`dangling.lb.test. 900 IN HINFO "RFC8482" ""`)},
	{Qname: "missing.lb.test.", Qtype: dns.TypeANY, Rcode: dns.RcodeNameError, Ns: rrs(lbNegSOA)},
	{Qname: "example.com.", Qtype: dns.TypeANY, Rcode: dns.RcodeRefused},
}

func TestAnswers(t *testing.T) {
	ts := start(t, zone.Build(fixture()), func(c *dnsserver.Config) { c.Rand = firstRand{} })
	for _, network := range []string{"udp", "tcp"} {
		for _, tc := range answerCases {
			t.Run(network+"/"+tc.String(), func(t *testing.T) { tc.check(t, network, ts.Addr()) })
		}
	}
}

// A weighted answer is always exactly one whole set; a multivalue answer
// is at most eight whole, distinct sets.
func TestAnswerIsWholeSets(t *testing.T) {
	in := fixture()
	ts := start(t, zone.Build(in), nil)
	sets := map[string]map[string]string{} // name -> value -> set id
	for _, s := range in.Sets {
		if sets[s.Name] == nil {
			sets[s.Name] = map[string]string{}
		}
		for _, v := range s.Values {
			sets[s.Name][v] = s.SetID
		}
	}
	size := func(name, id string) int {
		n := 0
		for _, sid := range sets[name] {
			if sid == id {
				n++
			}
		}
		return n
	}
	cases := []struct {
		name string
		sets int
	}{{"pool.lb.test.", 1}, {"many.lb.test.", 8}}
	for _, tc := range cases {
		for i := range 200 {
			r := exchange(t, []string{"udp", "tcp"}[i%2], ts.Addr(), query(tc.name, dns.TypeA))
			got := map[string]int{}
			for _, a := range r.Answer {
				got[sets[tc.name][a.(*dns.A).A.String()]]++
			}
			if len(got) != tc.sets {
				t.Fatalf("%s: answer of %d sets %v, want %d", tc.name, len(got), got, tc.sets)
			}
			for id, n := range got {
				if n != size(tc.name, id) {
					t.Fatalf("%s: %d values of set %q, want all %d", tc.name, n, id, size(tc.name, id))
				}
			}
		}
	}
}

// The answer of a query reflects the snapshot stored before it.
func TestSnapshotSwap(t *testing.T) {
	ts := start(t, zone.Build(fixture()), nil)
	addr := ts.Addr()
	for i := range 5 {
		in := fixture()
		ip := fmt.Sprintf("203.0.113.%d", i)
		in.Sets = append(in.Sets, set("lb.test.", "new.lb.test.", "A", "", 0, ip))
		ts.snap.Store(zone.Build(in))
		for _, network := range []string{"udp", "tcp"} {
			r := exchange(t, network, addr, query("new.lb.test.", dns.TypeA))
			if len(r.Answer) != 1 || r.Answer[0].(*dns.A).A.String() != ip {
				t.Fatalf("after swap %d over %s: answer %v, want %s", i, network, r.Answer, ip)
			}
		}
	}
	ts.snap.Store(zone.Build(zone.Input{}))
	if r := exchange(t, "udp", addr, query("www.lb.test.", dns.TypeA)); r.Rcode != dns.RcodeRefused {
		t.Errorf("after a swap to no zones: %s, want REFUSED", dns.RcodeToString[r.Rcode])
	}
	ts.snap.Store(nil)
	for _, network := range []string{"udp", "tcp"} {
		if r := exchange(t, network, addr, query("www.lb.test.", dns.TypeA)); r.Rcode != dns.RcodeServerFailure || len(r.Answer) != 0 {
			t.Errorf("no snapshot over %s: %s %v, want SERVFAIL", network, dns.RcodeToString[r.Rcode], r.Answer)
		}
	}
}
