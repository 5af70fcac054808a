package zone

import (
	"net/netip"

	"github.com/miekg/dns"

	"github.com/dnslb/dnslb/internal/record"
)

// Name servers inside their zone get their addresses from the zone
// (record.Zone.NSAddresses): A and AAAA at their names, answered
// authoritatively, and glue in the additional section of NS answers. A
// record set of those types at such a name is refused when written; one
// stored all the same (by hand) is shadowed by the zone's addresses.

// glueRRs returns the A and AAAA records of z's name servers with
// addresses, in NS order, with the NS records' TTL.
func glueRRs(z *record.Zone) []dns.RR {
	var rrs []dns.RR
	for _, ns := range z.NS {
		rrs = append(rrs, addressRRs(ns, z.NSAddresses[ns], z.SOA.TTL)...)
	}
	return rrs
}

// addressRRs turns addresses of name into A and AAAA records; an address
// that does not parse (a store written by hand) is skipped.
func addressRRs(name string, addrs []string, ttl uint32) []dns.RR {
	var rrs []dns.RR
	for _, a := range addrs {
		ip, err := netip.ParseAddr(a)
		switch {
		case err != nil:
		case ip.Is4():
			rrs = append(rrs, &dns.A{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: ttl}, A: ip.AsSlice()})
		default:
			rrs = append(rrs, &dns.AAAA{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeAAAA, Class: dns.ClassINET, Ttl: ttl}, AAAA: ip.AsSlice()})
		}
	}
	return rrs
}

// addNameServer gives node n of name the name server's addresses, when
// name is a name server of the zone with addresses.
func (src *source) addNameServer(n *node, name string) {
	addrs, ok := src.zone.NSAddresses[name]
	if !ok {
		return
	}
	byType := map[uint16][]dns.RR{}
	for _, rr := range addressRRs(name, addrs, src.zone.SOA.TTL) {
		t := rr.Header().Rrtype
		byType[t] = append(byType[t], rr)
	}
	for t, rrs := range byType {
		n.rrsets[t] = &rrset{fixed: rrs}
	}
}
