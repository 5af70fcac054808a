// Package zone is the immutable, in-memory view of every zone that the DNS
// query path reads: built once per change by Build, swapped atomically by
// its owner, and read without locks. Lookup applies the answer rules.
package zone

import (
	"github.com/miekg/dns"

	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/selector"
)

// Snapshot is every zone at one store revision. It is never modified after
// Build returns, so any number of goroutines may read it.
type Snapshot struct {
	Rev   int64
	zones map[string]*Zone // by origin
}

// Zone is one origin with its nodes.
type Zone struct {
	Origin string
	SOA    *dns.SOA // for SOA queries; TTL is the SOA's own
	NegSOA *dns.SOA // for negative answers; TTL is min(SOA TTL, minimum)
	NS     []dns.RR
	// Glue is the A and AAAA records of the name servers in NS that lie
	// inside the zone, in NS order: the additional section of NS answers.
	Glue   []dns.RR
	shards *shards // nodes by canonical name, sharded (see builder.go)

	// Wire forms for the fast path (see wire.go): the NS records and the
	// negative SOA without their owner, and the origin's wire length.
	NSWire        [][]byte
	NegSOAWire    []byte
	OriginWire    []byte
	OriginWireLen int
}

// node is one name. A node without rrsets exists all the same: an empty
// non-terminal, or a pool whose last set left; it answers NODATA.
type node struct {
	rrsets map[uint16]*rrset
}

// rrset is the record sets of one name and type, with their precomputed
// choice.
type rrset struct {
	group *selector.Group
	sets  []*Set // indexed like the group's candidates
	fixed []dns.RR
}

// Set is one record set as served.
type Set struct {
	Key    record.Key
	TTL    uint32
	RRs    []dns.RR // owner is the canonical name
	Served *Served  // nil when the builder was given none
	// Wire is RRs packed for an answer at the question name, each behind
	// a pointer to it (see wire.go); nil if they do not pack.
	Wire []byte
}

// Zone returns the zone with origin name (canonical), or nil.
func (s *Snapshot) Zone(name string) *Zone { return s.zones[name] }

// Serial is the SOA serial that zone origin answers with, and whether the
// snapshot has that zone.
func (s *Snapshot) Serial(origin string) (uint32, bool) {
	z := s.zones[origin]
	if z == nil {
		return 0, false
	}
	return z.SOA.Serial, true
}

// Len is the number of zones.
func (s *Snapshot) Len() int { return len(s.zones) }
