package dnsserver_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/dnslb/dnslb/internal/zone"
)

// counts returns the non-zero series of a counter family, by their labels
// "proto/qtype/rcode".
func counts(t *testing.T, reg prometheus.Gatherer, name string) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if v := m.GetCounter().GetValue(); v != 0 {
				l := map[string]string{}
				for _, p := range m.GetLabel() {
					l[p.GetName()] = p.GetValue()
				}
				out[l["proto"]+"/"+l["qtype"]+"/"+l["rcode"]] = v
			}
		}
	}
	return out
}

func TestQueryMetrics(t *testing.T) {
	ts := start(t, zone.Build(fixture()), nil)
	addr := ts.Addr()
	ask := func(network string, n int, m *dns.Msg) {
		for range n {
			exchange(t, network, addr, m.Copy())
		}
	}
	ask("udp", 3, query("www.lb.test.", dns.TypeA))
	ask("udp", 2, query("missing.lb.test.", dns.TypeAAAA))
	ask("udp", 1, query("example.com.", dns.TypeMX))
	ask("udp", 1, query("www.lb.test.", dns.TypeCAA))  // a type without a label of its own
	ask("udp", 1, query("big.lb.test.", dns.TypeAAAA)) // truncated, still NOERROR
	ask("udp", 1, withEDNS(query("www.lb.test.", dns.TypeA), 1232, false, 1))
	ask("udp", 1, query("www.lb.test.", dns.TypeANY))
	ask("tcp", 2, query("www.lb.test.", dns.TypeA))
	ask("tcp", 1, query("lb.test.", dns.TypeSOA))
	ask("tcp", 1, query("alias.lb.test.", dns.TypeCNAME))
	want := map[string]float64{
		"udp/A/NOERROR":     3,
		"udp/AAAA/NXDOMAIN": 2,
		"udp/MX/REFUSED":    1,
		"udp/other/NOERROR": 1,
		"udp/AAAA/NOERROR":  1,
		"udp/A/BADVERS":     1,
		"udp/ANY/NOERROR":   1,
		"tcp/A/NOERROR":     2,
		"tcp/SOA/NOERROR":   1,
		"tcp/CNAME/NOERROR": 1,
	}
	if diff := cmp.Diff(want, counts(t, ts.reg, "dnslb_dns_queries_total")); diff != "" {
		t.Errorf("dnslb_dns_queries_total (-want +got):\n%s", diff)
	}
	problems, err := testutil.GatherAndLint(ts.reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}
