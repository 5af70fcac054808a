package dnsserver_test

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/miekg/dns"

	"github.com/dnslb/dnslb/internal/dnsserver"
	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/zone"
)

// chaosQuery is a query of class CHAOS.
func chaosQuery(name string, qtype uint16) *dns.Msg {
	m := query(name, qtype)
	m.Question[0].Qclass = dns.ClassCHAOS
	return m
}

// TestChaosIdentity: CHAOS TXT id.server. and hostname.bind. answer the
// server id, version.server. and version.bind. the version; other names,
// other types and identities not configured are REFUSED (as Knot DNS).
func TestChaosIdentity(t *testing.T) {
	on := start(t, zone.Build(fixture()), func(c *dnsserver.Config) {
		c.Identity = dnsserver.Identity{ID: `dns-a "east"`, Version: "dnslb 1.2.3"}
	})
	off := start(t, zone.Build(fixture()), nil)
	cases := []struct {
		srv    *testServer
		qname  string
		qtype  uint16
		rcode  int
		answer string
	}{
		{on, "id.server.", dns.TypeTXT, dns.RcodeSuccess, `id.server.	0	CH	TXT	"dns-a \"east\""`},
		{on, "ID.Server.", dns.TypeTXT, dns.RcodeSuccess, `ID.Server.	0	CH	TXT	"dns-a \"east\""`},
		{on, "hostname.bind.", dns.TypeTXT, dns.RcodeSuccess, `hostname.bind.	0	CH	TXT	"dns-a \"east\""`},
		{on, "version.bind.", dns.TypeTXT, dns.RcodeSuccess, `version.bind.	0	CH	TXT	"dnslb 1.2.3"`},
		{on, "version.server.", dns.TypeTXT, dns.RcodeSuccess, `version.server.	0	CH	TXT	"dnslb 1.2.3"`},
		{on, "id.server.", dns.TypeA, dns.RcodeRefused, ""},
		{on, "authors.bind.", dns.TypeTXT, dns.RcodeRefused, ""},
		{on, "www.lb.test.", dns.TypeA, dns.RcodeRefused, ""},
		{off, "id.server.", dns.TypeTXT, dns.RcodeRefused, ""},
		{off, "version.bind.", dns.TypeTXT, dns.RcodeRefused, ""},
	}
	for _, network := range []string{"udp", "tcp"} {
		for i, tc := range cases {
			t.Run(fmt.Sprintf("%s/%d/%s", network, i, tc.qname), func(t *testing.T) {
				r := exchange(t, network, tc.srv.Addr(), chaosQuery(tc.qname, tc.qtype))
				if r.Rcode != tc.rcode || r.Authoritative != (tc.rcode == dns.RcodeSuccess) {
					t.Errorf("rcode %s aa=%v, want %s aa=%v", dns.RcodeToString[r.Rcode], r.Authoritative, dns.RcodeToString[tc.rcode], tc.rcode == dns.RcodeSuccess)
				}
				var want []string
				if tc.answer != "" {
					want = []string{tc.answer}
				}
				var got []string
				for _, rr := range r.Answer {
					got = append(got, rr.String())
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("answer (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// withNSID asks for the NSID (and, with cookie, sends a client cookie
// before it, as dig does).
func withNSID(m *dns.Msg, cookie bool) *dns.Msg {
	m.SetEdns0(1232, false)
	opt := m.IsEdns0()
	if cookie {
		opt.Option = append(opt.Option, &dns.EDNS0_COOKIE{Code: dns.EDNS0COOKIE, Cookie: "0102030405060708"})
	}
	opt.Option = append(opt.Option, &dns.EDNS0_NSID{Code: dns.EDNS0NSID})
	return m
}

// nsidOf returns the NSID of a reply, and whether it has one.
func nsidOf(r *dns.Msg) (string, bool) {
	opt := r.IsEdns0()
	if opt == nil {
		return "", false
	}
	for _, o := range opt.Option {
		if n, ok := o.(*dns.EDNS0_NSID); ok {
			return n.Nsid, true
		}
	}
	return "", false
}

// TestNSID: a query carrying the NSID option gets the server's NSID in
// its reply's OPT, over UDP (the fast path leaves it to the full handler)
// and TCP, whatever the answer; a query without it, or a server without
// an NSID, gets none.
func TestNSID(t *testing.T) {
	on := start(t, zone.Build(fixture()), func(c *dnsserver.Config) {
		c.Identity = dnsserver.Identity{NSID: []byte("dns-a")}
	})
	off := start(t, zone.Build(fixture()), nil)
	const hexID = "646e732d61" // "dns-a"
	cases := []struct {
		name string
		srv  *testServer
		req  *dns.Msg
		nsid bool
	}{
		{"weighted", on, withNSID(query("pool.lb.test.", dns.TypeA), false), true},
		{"after a cookie", on, withNSID(query("www.lb.test.", dns.TypeA), true), true},
		{"nxdomain", on, withNSID(query("missing.lb.test.", dns.TypeA), false), true},
		{"refused", on, withNSID(query("example.com.", dns.TypeA), false), true},
		{"chaos", on, withNSID(chaosQuery("id.server.", dns.TypeTXT), false), true},
		{"not asked", on, withEDNS(query("www.lb.test.", dns.TypeA), 1232, false, 0), false},
		{"off", off, withNSID(query("www.lb.test.", dns.TypeA), true), false},
	}
	for _, network := range []string{"udp", "tcp"} {
		for _, tc := range cases {
			t.Run(network+"/"+tc.name, func(t *testing.T) {
				r := exchange(t, network, tc.srv.Addr(), tc.req.Copy())
				got, ok := nsidOf(r)
				if ok != tc.nsid || ok && got != hexID {
					t.Errorf("NSID %q (present %v), want present %v with %q", got, ok, tc.nsid, hexID)
				}
				if r.IsEdns0() == nil {
					t.Error("reply has no OPT")
				}
			})
		}
	}
}

// TestNewRefusesLongNSID: the NSID is bounded.
func TestNewRefusesLongNSID(t *testing.T) {
	_, err := dnsserver.New(dnsserver.Config{Snapshot: new(fixedSnapshot), Identity: dnsserver.Identity{NSID: make([]byte, 256)}})
	if want := "dnsserver: Config.Identity.NSID is 256 bytes; at most 255 are allowed"; err == nil || err.Error() != want {
		t.Errorf("New: %v, want %s", err, want)
	}
}

type fixedSnapshot struct{}

func (*fixedSnapshot) Load() *zone.Snapshot { return nil }

// glueZone is lb.test. with three name servers: ns1 (IPv4 and IPv6) and
// ns2 (IPv4) inside it, ns.other.test. outside.
func glueZone() zone.Input {
	z := record.NewZone("lb.test.")
	z.NS = []string{"ns1.lb.test.", "ns2.lb.test.", "ns.other.test."}
	z.NSAddresses = map[string][]string{"ns1.lb.test.": {"192.0.2.53", "2001:db8::53"}, "ns2.lb.test.": {"192.0.2.54"}}
	return zone.Input{Rev: 7, Zones: []record.Zone{z}, Sets: []record.Set{
		set("lb.test.", "www.lb.test.", record.A, "i-1", 10, "10.0.0.1"),
		set("lb.test.", "ns2.lb.test.", record.TXT, "", 0, "second"),
	}}
}

// TestNameServerGlue: NS at the apex lists every name server with the
// addresses of those inside the zone as glue; their A and AAAA answer
// authoritatively; other types at their names are NODATA.
func TestNameServerGlue(t *testing.T) {
	ts := start(t, zone.Build(glueZone()), nil)
	ns := rrs("lb.test. 900 IN NS ns1.lb.test.", "lb.test. 900 IN NS ns2.lb.test.", "lb.test. 900 IN NS ns.other.test.")
	glue := rrs("ns1.lb.test. 900 IN A 192.0.2.53", "ns1.lb.test. 900 IN AAAA 2001:db8::53", "ns2.lb.test. 900 IN A 192.0.2.54")
	soa := rr("lb.test. 5 IN SOA ns1.lb.test. hostmaster.lb.test. 7 3600 600 86400 5")
	cases := []Case{
		{Qname: "lb.test.", Qtype: dns.TypeNS, Answer: ns, Extra: glue},
		{Qname: "LB.test.", Qtype: dns.TypeNS, Answer: rrs("LB.test. 900 IN NS ns1.lb.test.", "LB.test. 900 IN NS ns2.lb.test.", "LB.test. 900 IN NS ns.other.test."), Extra: glue},
		{Qname: "ns2.lb.test.", Qtype: dns.TypeA, Answer: rrs("ns2.lb.test. 900 IN A 192.0.2.54"), Ns: ns},
		{Qname: "ns1.lb.test.", Qtype: dns.TypeAAAA, Answer: rrs("ns1.lb.test. 900 IN AAAA 2001:db8::53"), Ns: ns},
		{Qname: "ns2.lb.test.", Qtype: dns.TypeTXT, Answer: rrs(`ns2.lb.test. 60 IN TXT "second"`), Ns: ns},
		{Qname: "ns2.lb.test.", Qtype: dns.TypeAAAA, Ns: []dns.RR{soa}},
		{Qname: "ns3.lb.test.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []dns.RR{soa}},
		{Qname: "lb.test.", Qtype: dns.TypeSOA, Answer: rrs("lb.test. 900 IN SOA ns1.lb.test. hostmaster.lb.test. 7 3600 600 86400 5"), Ns: ns},
		{Qname: "www.lb.test.", Qtype: dns.TypeA, Answer: rrs("www.lb.test. 60 IN A 10.0.0.1"), Ns: ns},
	}
	for _, network := range []string{"udp", "tcp"} {
		for _, tc := range cases {
			t.Run(network+"/"+tc.String(), func(t *testing.T) { tc.check(t, network, ts.Addr()) })
		}
	}
}

// TestGlueDroppedBeforeTC: thirteen name servers with two addresses each
// do not fit 512 bytes with their glue; the glue goes, not the answer,
// and TC stays clear. Over TCP and with EDNS it is whole.
func TestGlueDroppedBeforeTC(t *testing.T) {
	z := record.NewZone("lb.test.")
	z.NS, z.NSAddresses = nil, map[string][]string{}
	for i := range record.MaxNameServers {
		name := fmt.Sprintf("ns%d.lb.test.", i+1)
		z.NS = append(z.NS, name)
		z.NSAddresses[name] = []string{fmt.Sprintf("192.0.2.%d", i+1), fmt.Sprintf("2001:db8::%x", i+1)}
	}
	ts := start(t, zone.Build(zone.Input{Zones: []record.Zone{z}}), nil)
	for _, tc := range []struct {
		network string
		req     *dns.Msg
		extra   int
	}{
		{"udp", query("lb.test.", dns.TypeNS), 0},
		{"udp", withEDNS(query("lb.test.", dns.TypeNS), 1232, false, 0), 2*record.MaxNameServers + 1},
		{"tcp", query("lb.test.", dns.TypeNS), 2 * record.MaxNameServers},
	} {
		r := exchange(t, tc.network, ts.Addr(), tc.req)
		if r.Truncated || len(r.Answer) != record.MaxNameServers || len(r.Extra) != tc.extra {
			t.Errorf("%s, EDNS %v: tc=%v, %d NS, %d additional; want tc clear, %d NS, %d additional",
				tc.network, tc.req.IsEdns0() != nil, r.Truncated, len(r.Answer), len(r.Extra), record.MaxNameServers, tc.extra)
		}
	}
}
