package dnsserver

import (
	"strings"
	"sync"

	"github.com/miekg/dns"

	"github.com/dnslb/dnslb/internal/zone"
)

var results = sync.Pool{New: func() any { return new(zone.Result) }}

// ServeDNS answers one query. It never panics: a bug answers SERVFAIL and
// is logged.
func (s *Server) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	defer func() {
		if v := recover(); v != nil {
			s.log.Error("query handler panicked", "panic", v, "question", req.Question)
			fail := new(dns.Msg)
			fail.SetRcode(req, dns.RcodeServerFailure)
			_ = w.WriteMsg(fail)
		}
	}()
	if len(req.Question) != 1 {
		// accept saw qdcount 1, but miekg/dns reads a packet that ends
		// after the header as one without a question.
		m.SetRcodeFormatError(req)
		s.write(w, m)
		return
	}
	m.SetReply(req)
	m.Authoritative, m.RecursionAvailable = true, false
	proto := protoOf(w)
	size, ok := s.edns(req, m)
	if ok {
		s.answer(req, m)
	}
	limit := dns.MaxMsgSize // TCP: a message's 16-bit length
	if proto == udp {
		limit = size
	}
	truncate(m, limit)
	s.metrics.count(proto, req.Question[0].Qtype, m.Rcode)
	s.write(w, m)
}

func (s *Server) write(w dns.ResponseWriter, m *dns.Msg) {
	if err := w.WriteMsg(m); err != nil {
		s.log.Debug("writing a response failed", "err", err)
	}
}

// edns applies EDNS0 (RFC 6891): the reply carries an OPT when the query
// did, our buffer size, and the DO bit copied; an unknown version is
// BADVERS. It returns the UDP size the reply must fit and false when the
// query is answered already.
func (s *Server) edns(req, m *dns.Msg) (int, bool) {
	opt := req.IsEdns0()
	if opt == nil {
		return dns.MinMsgSize, true
	}
	m.SetEdns0(s.cfg.MaxUDPSize, opt.Do())
	if opt.Version() != 0 {
		m.Rcode, m.Authoritative = dns.RcodeBadVers, false
		return dns.MinMsgSize, false
	}
	s.addNSID(opt, m)
	return int(min(max(opt.UDPSize(), dns.MinMsgSize), s.cfg.MaxUDPSize)), true
}

// truncate fits m in size bytes. The NS records in the authority of a
// positive answer are optional (RFC 2181 §9): when the reply is too big
// they go first, and TC is set only if that is not enough. (dns.Msg's
// Truncate alone sets TC for any record left out.) A reply that fits
// uncompressed, the common case, costs one length computation.
func truncate(m *dns.Msg, size int) {
	if m.Len() <= size { // m.Compress is false: the uncompressed length
		return
	}
	m.Compress = true
	if len(m.Answer) > 0 && len(m.Ns) > 0 && m.Ns[0].Header().Rrtype == dns.TypeNS && m.Len() > size {
		m.Ns = nil
	}
	if m.Len() > size {
		dropGlue(m)
	}
	m.Truncate(size)
}

// answer fills m for the one question of req. CHAOS answers the server's
// identity (identity.go); other classes than IN (and ANY, read as IN) are
// REFUSED: dnslb serves no HESIOD data. Zone transfers (AXFR, IXFR) are
// REFUSED too: dnslb has no secondaries.
func (s *Server) answer(req, m *dns.Msg) {
	q := req.Question[0]
	if q.Qclass == dns.ClassCHAOS {
		s.answerChaos(q, m)
		return
	}
	if q.Qclass != dns.ClassINET && q.Qclass != dns.ClassANY || q.Qtype == dns.TypeAXFR || q.Qtype == dns.TypeIXFR {
		m.Rcode, m.Authoritative = dns.RcodeRefused, false
		return
	}
	snap := s.cfg.Snapshot.Load()
	if snap == nil { // the owner has not built one yet
		m.Rcode, m.Authoritative = dns.RcodeServerFailure, false
		return
	}
	qname := strings.ToLower(q.Name)
	if q.Qtype == dns.TypeANY {
		s.answerANY(snap, qname, q.Name, m)
		return
	}
	res := results.Get().(*zone.Result)
	defer results.Put(res)
	res.Reset()
	snap.Lookup(qname, q.Qtype, s.rnd, res)
	s.fill(m, res, qname, q)
	s.recordServed(res)
}

// fill turns a lookup result into the sections of m.
func (s *Server) fill(m *dns.Msg, res *zone.Result, qname string, q dns.Question) {
	switch res.Kind {
	case zone.Refused:
		m.Rcode, m.Authoritative = dns.RcodeRefused, false
		return
	case zone.NXDomain:
		m.Rcode = dns.RcodeNameError
	}
	m.Answer = echoCase(res.Answer, qname, q.Name)
	if res.Kind == zone.Success {
		apexNS := res.Zone != nil && q.Qtype == dns.TypeNS && qname == res.Zone.Origin
		if res.Zone != nil && !apexNS && !isCNAMEOnly(res, q.Qtype) {
			m.Ns = res.Zone.NS
		}
		if apexNS {
			addGlue(m, res.Zone)
		}
		return
	}
	m.Ns = []dns.RR{res.Zone.NegSOA}
}

// isCNAMEOnly reports an answer that is only a CNAME chain leaving our
// zones: its authority would be about the wrong zone.
func isCNAMEOnly(res *zone.Result, qtype uint16) bool {
	if qtype == dns.TypeCNAME || len(res.Answer) == 0 {
		return false
	}
	return res.Answer[len(res.Answer)-1].Header().Rrtype == dns.TypeCNAME
}

// answerANY answers ANY minimally (RFC 8482): one synthesized HINFO for
// a name that exists. The lookup asks for CNAME, the one type Lookup does
// not chase: an alias exists whatever its target.
func (s *Server) answerANY(snap *zone.Snapshot, qname, asked string, m *dns.Msg) {
	res := results.Get().(*zone.Result)
	defer results.Put(res)
	res.Reset()
	snap.Lookup(qname, dns.TypeCNAME, s.rnd, res)
	switch res.Kind {
	case zone.Refused:
		m.Rcode, m.Authoritative = dns.RcodeRefused, false
	case zone.NXDomain:
		m.Rcode, m.Ns = dns.RcodeNameError, []dns.RR{res.Zone.NegSOA}
	default:
		m.Answer = []dns.RR{&dns.HINFO{
			Hdr: dns.RR_Header{Name: asked, Rrtype: dns.TypeHINFO, Class: dns.ClassINET, Ttl: res.Zone.SOA.Hdr.Ttl},
			Cpu: "RFC8482",
		}}
	}
}

// echoCase returns rrs with the owner name qname written as the question
// asked it (mixed case, DNS 0x20); shared records are copied, not changed.
func echoCase(rrs []dns.RR, qname, asked string) []dns.RR {
	if len(rrs) == 0 {
		return nil
	}
	out := make([]dns.RR, len(rrs))
	copy(out, rrs)
	if qname == asked {
		return out
	}
	for i, rr := range out {
		if rr.Header().Name == qname {
			c := dns.Copy(rr)
			c.Header().Name = asked
			out[i] = c
		}
	}
	return out
}

type proto int

const (
	udp proto = iota
	tcp
)

func protoOf(w dns.ResponseWriter) proto {
	if a := w.LocalAddr(); a != nil && a.Network() == "tcp" {
		return tcp
	}
	return udp
}
