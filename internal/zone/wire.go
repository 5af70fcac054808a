package zone

import (
	"sync"

	"github.com/miekg/dns"
)

// Wire forms, precomputed by Build for the server's fast path, which
// writes responses straight into a buffer: each record packed without its
// owner name, to follow a compression pointer to the question (answers) or
// to the zone's suffix of the question (authority).

// scratch holds packing buffers: Build packs every set once.
var scratch = sync.Pool{New: func() any { b := make([]byte, dns.MaxMsgSize); return &b }}

// wireOf packs each record without its owner name. It returns nil if a
// record does not pack (the slow path then answers).
func wireOf(rrs []dns.RR) [][]byte {
	bp := scratch.Get().(*[]byte)
	defer scratch.Put(bp)
	buf := *bp
	out := make([][]byte, 0, len(rrs))
	for _, rr := range rrs {
		owner := wireLen(rr.Header().Name)
		end, err := dns.PackRR(rr, buf, 0, nil, false)
		if err != nil || owner <= 0 || owner > end {
			return nil
		}
		out = append(out, append([]byte(nil), buf[owner:end]...))
	}
	return out
}

// wireLen is the length of name in uncompressed wire form, or -1.
func wireLen(name string) int {
	var buf [256]byte
	n, err := dns.PackDomainName(name, buf[:], 0, nil, false)
	if err != nil {
		return -1
	}
	return n
}

// questionPointer is a compression pointer to the question name, which
// starts right after the 12-byte header.
var questionPointer = []byte{0xC0, 0x0C}

// setWire fills Wire: the set's records, each behind a pointer to the
// question name, ready to copy into an answer section.
func (s *Set) setWire() {
	rrs := wireOf(s.RRs)
	if rrs == nil {
		return
	}
	for _, rr := range rrs {
		s.Wire = append(append(s.Wire, questionPointer...), rr...)
	}
}

// setWire fills the wire forms of the zone's authority records.
func (z *Zone) setWire() {
	z.NSWire = wireOf(z.NS)
	if soa := wireOf([]dns.RR{z.NegSOA}); soa != nil {
		z.NegSOAWire = soa[0]
	}
	z.OriginWireLen = wireLen(z.Origin)
	var buf [256]byte
	if n, err := dns.PackDomainName(z.Origin, buf[:], 0, nil, false); err == nil {
		z.OriginWire = append([]byte(nil), buf[:n]...)
	}
}
