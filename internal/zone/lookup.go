package zone

import (
	"strings"

	"github.com/miekg/dns"

	"github.com/dnslb/dnslb/internal/selector"
)

// Kind is the outcome of a lookup.
type Kind int

// Lookup outcomes.
const (
	Success  Kind = iota // an answer (possibly a CNAME chain that leaves our zones)
	NoData               // the name exists, the type does not (or no set is chosen)
	NXDomain             // the name does not exist
	Refused              // the name is in none of our zones
)

// maxChain bounds CNAME chasing inside our zones. A chain also stops at
// the first name it has visited before (a loop), so no record repeats.
const maxChain = 8

// Result is what Lookup found. Its slices are appended to, so a caller can
// reuse one Result (Reset) to avoid allocations.
type Result struct {
	Kind   Kind
	Zone   *Zone    // the zone of the last name looked up; nil when Refused
	Answer []dns.RR // owner names are canonical (lower case)
	Chosen []*Set   // the record sets in Answer, to record as served
	idx    []int
}

// Reset empties r for reuse.
func (r *Result) Reset() {
	r.Kind, r.Zone = Success, nil
	r.Answer, r.Chosen, r.idx = r.Answer[:0], r.Chosen[:0], r.idx[:0]
}

// Lookup answers qname (canonical: lower case, fully qualified) and qtype
// from the snapshot, choosing among record sets with rnd. ANY is not
// handled here (the server answers it minimally, RFC 8482).
func (s *Snapshot) Lookup(qname string, qtype uint16, rnd selector.Rand, res *Result) {
	for range maxChain {
		z := s.findZone(qname)
		if z == nil {
			if len(res.Answer) == 0 {
				res.Kind = Refused
			}
			return // a CNAME chain left our zones: the resolver goes on
		}
		res.Zone = z
		target, ok := z.lookup(qname, qtype, rnd, res)
		if !ok || res.visited(target) {
			return
		}
		qname = target
	}
}

// visited reports whether the chain in the answer already passed name: a
// CNAME loop, answered with the chain up to the repeat (RFC 1034 §3.6.2).
func (r *Result) visited(name string) bool {
	for _, rr := range r.Answer {
		if rr.Header().Name == name {
			return true
		}
	}
	return false
}

// findZone returns the longest zone that contains name. Labels are cut
// with dns.NextLabel: an escaped dot ("x\.lb.test.") is inside a label.
func (s *Snapshot) findZone(name string) *Zone {
	for off := 0; ; {
		if z := s.zones[name[off:]]; z != nil {
			return z
		}
		next, end := dns.NextLabel(name, off)
		if end {
			return s.zones["."]
		}
		off = next
	}
}

// lookup answers within z. It returns a CNAME target to follow, and true,
// when qname is an alias and qtype is not CNAME.
func (z *Zone) lookup(qname string, qtype uint16, rnd selector.Rand, res *Result) (string, bool) {
	n := z.node(qname)
	if n == nil {
		res.Kind = NXDomain
		return "", false
	}
	if rs := n.rrsets[qtype]; rs != nil && rs.answer(rnd, res) {
		res.Kind = Success
		return "", false
	}
	if qtype != dns.TypeCNAME {
		if rs := n.rrsets[dns.TypeCNAME]; rs != nil && rs.answer(rnd, res) {
			res.Kind = Success
			target := res.Answer[len(res.Answer)-1].(*dns.CNAME).Target
			return strings.ToLower(target), true
		}
	}
	res.Kind = NoData
	return "", false
}

// answer appends the chosen sets' records; false when nothing is chosen.
func (rs *rrset) answer(rnd selector.Rand, res *Result) bool {
	if rs.fixed != nil {
		res.Answer = append(res.Answer, rs.fixed...)
		return true
	}
	res.idx = rs.group.Choose(rnd, res.idx[:0])
	if len(res.idx) == 0 {
		return false
	}
	for _, i := range res.idx {
		set := rs.sets[i]
		res.Answer = append(res.Answer, set.RRs...)
		res.Chosen = append(res.Chosen, set)
	}
	return true
}
