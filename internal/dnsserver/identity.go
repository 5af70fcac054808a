package dnsserver

import (
	"encoding/binary"
	"strings"

	"github.com/miekg/dns"

	"github.com/dnslb/dnslb/internal/zone"
)

// Identity is what a server tells of itself, so that an operator can see
// which server of several answered (RFC 4892): CHAOS-class TXT queries
// for id.server. and hostname.bind. (ID), for version.server. and
// version.bind. (Version), and the NSID option of EDNS (RFC 5001). An
// empty field refuses its queries, as Knot DNS does with an empty
// identity or version: the zero Identity answers none of them.
type Identity struct {
	ID      string // answers id.server. and hostname.bind.
	Version string // answers version.server. and version.bind.
	// NSID is the payload of the NSID option added to replies to queries
	// that carry one (RFC 5001); nil: no NSID.
	NSID []byte
}

// MaxNSID bounds the NSID payload (RFC 5001 sets no limit; an identifier
// longer than a host name only makes every reply bigger).
const MaxNSID = 255

// chaosTTL is the TTL of CHAOS answers: 0, as Knot DNS, NSD and CoreDNS.
const chaosTTL = 0

// answerChaos answers a query of class CHAOS, off the fast path (which
// takes class IN only): TXT at the identity names when configured, REFUSED
// for anything else, as Knot DNS does.
func (s *Server) answerChaos(q dns.Question, m *dns.Msg) {
	txt := s.chaosText(strings.ToLower(q.Name))
	if q.Qtype != dns.TypeTXT || txt == "" {
		m.Rcode, m.Authoritative = dns.RcodeRefused, false
		return
	}
	m.Answer = []dns.RR{&dns.TXT{
		Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeTXT, Class: dns.ClassCHAOS, Ttl: chaosTTL},
		Txt: splitText(txt),
	}}
}

// chaosText is the text that CHAOS name qname (lower case) answers with;
// "" for none.
func (s *Server) chaosText(qname string) string {
	switch qname {
	case "id.server.", "hostname.bind.":
		return s.cfg.Identity.ID
	case "version.server.", "version.bind.":
		return s.cfg.Identity.Version
	}
	return ""
}

// splitText cuts s into the 255-byte character-strings of a TXT record,
// escaped for miekg/dns's presentation form.
func splitText(s string) []string {
	var out []string
	for len(s) > 255 {
		out = append(out, escapeText(s[:255]))
		s = s[255:]
	}
	return append(out, escapeText(s))
}

func escapeText(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s)
}

// addNSID puts our NSID in the OPT of reply m when the query's OPT asked
// for it (RFC 5001 §2.1: the request's payload is empty and ignored).
func (s *Server) addNSID(req *dns.OPT, m *dns.Msg) {
	if s.cfg.Identity.NSID == nil || !asksNSID(req) {
		return
	}
	opt := m.IsEdns0()
	opt.Option = append(opt.Option, &dns.EDNS0_NSID{Code: dns.EDNS0NSID, Nsid: s.nsidHex})
}

func asksNSID(opt *dns.OPT) bool {
	for _, o := range opt.Option {
		if o.Option() == dns.EDNS0NSID {
			return true
		}
	}
	return false
}

// asksNSIDWire reports whether opt, a query's OPT record in wire form
// (checked by parseOPT), carries the NSID option.
func asksNSIDWire(opt []byte) bool { return hasOption(opt[11:], dns.EDNS0NSID) }

// hasOption reports whether the options of an OPT record's data (code,
// length, payload, ...) include code. Malformed data has none.
func hasOption(b []byte, code uint16) bool {
	for len(b) >= 4 {
		if binary.BigEndian.Uint16(b) == code {
			return true
		}
		n := 4 + int(binary.BigEndian.Uint16(b[2:]))
		if n > len(b) {
			return false
		}
		b = b[n:]
	}
	return false
}

// addGlue puts the addresses of zone z's name servers inside it in the
// additional section of m, an NS answer at z's apex, before the OPT.
func addGlue(m *dns.Msg, z *zone.Zone) {
	if len(z.Glue) == 0 {
		return
	}
	extra := make([]dns.RR, 0, len(z.Glue)+len(m.Extra))
	m.Extra = append(append(extra, z.Glue...), m.Extra...)
}

// dropGlue takes the glue out of the additional section of m, keeping its
// OPT: in an authoritative NS answer glue is optional (RFC 9471 requires
// it, or TC, in referrals only, which dnslb does not give), so a reply too
// big for UDP loses it before anything else is cut.
func dropGlue(m *dns.Msg) {
	kept := m.Extra[:0]
	for _, rr := range m.Extra {
		if rr.Header().Rrtype == dns.TypeOPT {
			kept = append(kept, rr)
		}
	}
	m.Extra = kept
}
