package zone

import (
	"net"
	"strconv"
	"strings"

	"github.com/miekg/dns"

	"github.com/dnslb/dnslb/internal/record"
)

// qtypes maps record types to DNS type numbers.
var qtypes = map[record.Type]uint16{
	record.A: dns.TypeA, record.AAAA: dns.TypeAAAA, record.CNAME: dns.TypeCNAME,
	record.TXT: dns.TypeTXT, record.MX: dns.TypeMX, record.SRV: dns.TypeSRV,
}

// buildRRs turns a validated set's values into DNS records owned by name.
func buildRRs(s *record.Set) []dns.RR {
	hdr := dns.RR_Header{Name: s.Name, Rrtype: qtypes[s.Type], Class: dns.ClassINET, Ttl: s.TTL}
	rrs := make([]dns.RR, 0, len(s.Values))
	for _, v := range s.Values {
		if rr := buildRR(hdr, v); rr != nil {
			rrs = append(rrs, rr)
		}
	}
	return rrs
}

// buildRR builds one record; values were validated by record.Normalize, so
// a value that does not parse (a store written by hand) is skipped.
func buildRR(hdr dns.RR_Header, v string) dns.RR {
	switch hdr.Rrtype {
	case dns.TypeA:
		return &dns.A{Hdr: hdr, A: net.ParseIP(v).To4()}
	case dns.TypeAAAA:
		return &dns.AAAA{Hdr: hdr, AAAA: net.ParseIP(v)}
	case dns.TypeCNAME:
		return &dns.CNAME{Hdr: hdr, Target: v}
	case dns.TypeTXT:
		return &dns.TXT{Hdr: hdr, Txt: splitTXT(v)}
	case dns.TypeMX:
		f := strings.Fields(v)
		if len(f) != 2 {
			return nil
		}
		return &dns.MX{Hdr: hdr, Preference: u16(f[0]), Mx: f[1]}
	case dns.TypeSRV:
		f := strings.Fields(v)
		if len(f) != 4 {
			return nil
		}
		return &dns.SRV{Hdr: hdr, Priority: u16(f[0]), Weight: u16(f[1]), Port: u16(f[2]), Target: f[3]}
	}
	return nil
}

func u16(s string) uint16 {
	n, _ := strconv.ParseUint(s, 10, 16)
	return uint16(n)
}

// splitTXT cuts text into the 255-byte character-strings of a TXT record,
// escaping what miekg/dns's presentation format would read specially.
func splitTXT(s string) []string {
	var out []string
	for len(s) > 255 {
		out = append(out, escapeTXT(s[:255]))
		s = s[255:]
	}
	return append(out, escapeTXT(s))
}

func escapeTXT(s string) string {
	if !strings.ContainsAny(s, `\"`) {
		return s
	}
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s)
}

func soaRR(z *record.Zone, ttl, serial uint32) *dns.SOA {
	return &dns.SOA{
		Hdr: dns.RR_Header{Name: z.Name, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: ttl},
		Ns:  z.SOA.MName, Mbox: z.SOA.RName, Serial: serial,
		Refresh: z.SOA.Refresh, Retry: z.SOA.Retry, Expire: z.SOA.Expire, Minttl: z.SOA.Minimum,
	}
}

func nsRRs(z *record.Zone) []dns.RR {
	rrs := make([]dns.RR, len(z.NS))
	for i, ns := range z.NS {
		rrs[i] = &dns.NS{Hdr: dns.RR_Header{Name: z.Name, Rrtype: dns.TypeNS, Class: dns.ClassINET, Ttl: z.SOA.TTL}, Ns: ns}
	}
	return rrs
}
