package dnsserver

import (
	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
)

// Label values are bounded: known types and rcodes by name, the rest
// "other". Counters are looked up in arrays, not by label, per query.
var (
	metricTypes  = []uint16{dns.TypeA, dns.TypeAAAA, dns.TypeCNAME, dns.TypeTXT, dns.TypeMX, dns.TypeSRV, dns.TypeNS, dns.TypeSOA, dns.TypeANY, dns.TypeHINFO}
	metricRcodes = []int{dns.RcodeSuccess, dns.RcodeFormatError, dns.RcodeServerFailure, dns.RcodeNameError, dns.RcodeNotImplemented, dns.RcodeRefused, dns.RcodeBadVers}
)

const other = "other"

type metrics struct {
	queries [2][][]prometheus.Counter // [proto][type index][rcode index]
}

func newMetrics(reg prometheus.Registerer) *metrics {
	if reg == nil {
		return nil
	}
	vec := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "dnslb_dns_queries_total",
		Help: "DNS queries answered, by transport, query type and response code.",
	}, []string{"proto", "qtype", "rcode"})
	reg.MustRegister(vec)
	m := &metrics{}
	for p, pname := range []string{"udp", "tcp"} {
		m.queries[p] = make([][]prometheus.Counter, len(metricTypes)+1)
		for t := range m.queries[p] {
			m.queries[p][t] = make([]prometheus.Counter, len(metricRcodes)+1)
			for r := range m.queries[p][t] {
				m.queries[p][t][r] = vec.WithLabelValues(pname, typeLabel(t), rcodeLabel(r))
			}
		}
	}
	return m
}

func typeLabel(i int) string {
	if i < len(metricTypes) {
		return dns.TypeToString[metricTypes[i]]
	}
	return other
}

func rcodeLabel(i int) string {
	switch {
	case i >= len(metricRcodes):
		return other
	case metricRcodes[i] == dns.RcodeBadVers:
		return "BADVERS" // miekg/dns names rcode 16 after TSIG's BADSIG
	}
	return dns.RcodeToString[metricRcodes[i]]
}

func indexOf[T comparable](s []T, v T) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return len(s)
}

// count records one answered query.
func (m *metrics) count(p proto, qtype uint16, rcode int) {
	if m == nil {
		return
	}
	m.queries[p][indexOf(metricTypes, qtype)][indexOf(metricRcodes, rcode)].Inc()
}
