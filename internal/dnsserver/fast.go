package dnsserver

import (
	"encoding/binary"
	"unsafe"

	"github.com/miekg/dns"

	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/zone"
)

// The fast path answers the common query straight from and into wire
// bytes, with no allocation: a QUERY with one question of class IN whose
// name is plain letters, digits, '-' and '_', at most an OPT record of
// version 0 (not asking for the NSID when the server has one), and an
// outcome that is one or more record sets at the query name, NODATA,
// NXDOMAIN or REFUSED, fitting the client's UDP size.
// Anything else returns nil and goes to the full handler (ServeDNS), which
// answers identically (see the differential and fuzz tests).

// Header flag bits.
const (
	flagQR = 1 << 15
	flagAA = 1 << 10
	flagRD = 1 << 8
	flagCD = 1 << 4
)

// scratch is one UDP loop's reusable memory.
type scratch struct {
	name [256]byte // the question name, lower case, presentation form
	res  zone.Result
	rrl  rrlState
}

// query is what the fast path parsed from a request.
type query struct {
	qname   string // aliases scratch.name: valid until the next parse
	qtype   uint16
	qEnd    int  // end of the question section
	qLen    int  // wire length of the question name
	mixed   bool // the name has upper-case letters
	flags   uint16
	edns    bool
	do      bool
	udpSize int
}

// parse reads req as a fast-path query; ok is false when it is not one.
func (sc *scratch) parse(req []byte, maxUDP uint16) (q query, ok bool) {
	if len(req) < 12+1+4 {
		return q, false
	}
	q.flags = binary.BigEndian.Uint16(req[2:])
	if q.flags&flagQR != 0 || (q.flags>>11)&0xF != dns.OpcodeQuery {
		return q, false
	}
	if binary.BigEndian.Uint16(req[4:]) != 1 || binary.BigEndian.Uint16(req[6:]) != 0 || binary.BigEndian.Uint16(req[8:]) != 0 {
		return q, false
	}
	arcount := binary.BigEndian.Uint16(req[10:])
	off, n, mixed, ok := sc.parseName(req)
	q.mixed = mixed
	if !ok || arcount > 1 || off+4 > len(req) {
		return q, false
	}
	q.qname = unsafe.String(&sc.name[0], n)
	q.qLen = off - 12
	q.qtype = binary.BigEndian.Uint16(req[off:])
	if binary.BigEndian.Uint16(req[off+2:]) != dns.ClassINET || q.qtype == dns.TypeOPT || q.qtype >= dns.TypeIXFR {
		return q, false
	}
	q.qEnd = off + 4
	q.udpSize = dns.MinMsgSize
	if arcount == 0 {
		return q, q.qEnd == len(req)
	}
	return q, q.parseOPT(req[q.qEnd:], maxUDP)
}

// parseName lower-cases the question name into sc.name. It returns the
// offset after the name and the length of its presentation form.
func (sc *scratch) parseName(req []byte) (off, n int, mixed, ok bool) {
	off = 12
	for {
		if off >= len(req) {
			return 0, 0, false, false
		}
		l := int(req[off])
		off++
		if l == 0 {
			break
		}
		if l > 63 || off+l > len(req) || n+l+1 > len(sc.name)-1 {
			return 0, 0, false, false
		}
		for _, c := range req[off : off+l] {
			switch {
			case c >= 'A' && c <= 'Z':
				c += 'a' - 'A'
				mixed = true
			case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_':
			default:
				return 0, 0, false, false
			}
			sc.name[n] = c
			n++
		}
		sc.name[n] = '.'
		n++
		off += l
	}
	if n == 0 {
		return 0, 0, false, false
	}
	return off, n, mixed, true
}

// parseOPT reads the one additional record, which must be an OPT of
// version 0 ending the packet.
func (q *query) parseOPT(b []byte, maxUDP uint16) bool {
	if len(b) < 11 || b[0] != 0 || binary.BigEndian.Uint16(b[1:]) != dns.TypeOPT || b[6] != 0 {
		return false
	}
	if 11+int(binary.BigEndian.Uint16(b[9:])) != len(b) {
		return false
	}
	q.edns, q.do = true, binary.BigEndian.Uint16(b[7:])&0x8000 != 0
	q.udpSize = int(min(max(binary.BigEndian.Uint16(b[3:]), dns.MinMsgSize), maxUDP))
	return true
}

// fastAnswer writes the response to req into out and returns it, or nil
// to leave req to the full handler.
func (s *Server) fastAnswer(req, out []byte, sc *scratch) []byte {
	q, ok := sc.parse(req, s.cfg.MaxUDPSize)
	if !ok || s.nsidHex != "" && q.edns && asksNSIDWire(req[q.qEnd:]) { // the full handler adds it
		return nil
	}
	snap := s.cfg.Snapshot.Load()
	if snap == nil {
		return nil
	}
	res := &sc.res
	res.Reset()
	snap.Lookup(q.qname, q.qtype, s.rnd, res)
	out, rcode, ok := s.build(req, out[:0], &q, res)
	if !ok || len(out) > q.udpSize {
		return nil
	}
	s.metrics.count(udp, q.qtype, rcode)
	s.recordServed(res)
	return out
}

// build writes the response for a lookup result.
func (s *Server) build(req, out []byte, q *query, res *zone.Result) ([]byte, int, bool) {
	var (
		rcode       = dns.RcodeSuccess
		aa          = true
		an, ns      int
		answer      bool
		authority   [][]byte
		negativeSOA bool
	)
	switch res.Kind {
	case zone.Refused:
		rcode, aa = dns.RcodeRefused, false
	case zone.Success:
		var ok bool
		if an, ok = answerCount(res, q.qname); !ok {
			return nil, 0, false
		}
		answer, authority = true, res.Zone.NSWire
		if last := res.Chosen[len(res.Chosen)-1]; last.Key.Type == record.CNAME && q.qtype != dns.TypeCNAME {
			authority = nil // a chain leaving our zones: no authority about it
		}
		ns = len(authority)
	case zone.NXDomain:
		rcode = dns.RcodeNameError
		fallthrough
	case zone.NoData:
		if res.Zone.NegSOAWire == nil || len(res.Answer) > 0 { // a CNAME chain: the full handler
			return nil, 0, false
		}
		negativeSOA, ns = true, 1
	}
	out = header(out, req, q, rcode, aa, an, ns)
	out = append(out, req[12:q.qEnd]...)
	if answer {
		for _, set := range res.Chosen {
			out = append(out, set.Wire...)
		}
	}
	if negativeSOA {
		authority = [][]byte{res.Zone.NegSOAWire}
	}
	out = appendAuthority(out, q, res.Zone, authority)
	if q.edns {
		out = opt(out, s.cfg.MaxUDPSize, q.do)
	}
	return out, rcode, true
}

// answerCount counts the records of the chosen sets, which must all be at
// the query name with a wire form (else the full handler answers).
func answerCount(res *zone.Result, qname string) (int, bool) {
	if len(res.Chosen) == 0 {
		return 0, false
	}
	n := 0
	for _, set := range res.Chosen {
		if set.Key.Name != qname || set.Wire == nil {
			return 0, false
		}
		n += len(set.RRs)
	}
	return n, n == len(res.Answer)
}

func header(out, req []byte, q *query, rcode int, aa bool, an, ns int) []byte {
	flags := uint16(flagQR) | q.flags&(flagRD|flagCD) | uint16(rcode&0xF)
	if aa {
		flags |= flagAA
	}
	ar := 0
	if q.edns {
		ar = 1
	}
	out = append(out, req[0], req[1])
	out = binary.BigEndian.AppendUint16(out, flags)
	out = binary.BigEndian.AppendUint16(out, 1)
	out = binary.BigEndian.AppendUint16(out, uint16(an))
	out = binary.BigEndian.AppendUint16(out, uint16(ns))
	return binary.BigEndian.AppendUint16(out, uint16(ar))
}

// appendAuthority writes authority records owned by the zone's origin. The
// origin is a suffix of the question name, so the owner is a pointer into
// the question — unless the question has upper-case letters: owners other
// than the query name are written in lower case, so the origin is written
// once in full and pointed to after that.
func appendAuthority(out []byte, q *query, z *zone.Zone, rrs [][]byte) []byte {
	if len(rrs) == 0 {
		return out
	}
	off := 12 + q.qLen - z.OriginWireLen
	for i, rr := range rrs {
		if i == 0 && q.mixed {
			off = len(out)
			out = append(out, z.OriginWire...)
		} else {
			out = append(out, 0xC0|byte(off>>8), byte(off))
		}
		out = append(out, rr...)
	}
	return out
}

// opt appends our OPT record: our UDP size, version 0, DO copied.
func opt(out []byte, size uint16, do bool) []byte {
	out = append(out, 0)
	out = binary.BigEndian.AppendUint16(out, dns.TypeOPT)
	out = binary.BigEndian.AppendUint16(out, size)
	out = append(out, 0, 0) // extended rcode, version
	var flags uint16
	if do {
		flags = 0x8000
	}
	out = binary.BigEndian.AppendUint16(out, flags)
	return binary.BigEndian.AppendUint16(out, 0)
}

// recordServed notes, per chosen set, that it was just handed out and with
// which TTL (a drain waits for the longest one still in caches).
func (s *Server) recordServed(res *zone.Result) {
	if len(res.Chosen) == 0 {
		return
	}
	now := s.cfg.Now()
	for _, set := range res.Chosen {
		if set.Served != nil {
			set.Served.Record(now, set.TTL)
		}
	}
}
