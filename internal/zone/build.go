package zone

import (
	"sort"
	"strings"

	"github.com/miekg/dns"

	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/selector"
)

// Input is what a snapshot is built from.
type Input struct {
	Rev   int64
	Zones []record.Zone
	Sets  []record.Set
	// Eligible says whether an active set may be chosen (lease alive,
	// healthy); nil means every active set is. Draining sets are never in
	// an answer, whatever Eligible says.
	Eligible func(*record.Set) bool
	// Gone says whether an active set is out of answers altogether, like a
	// draining one (a lapsed lease: the instance is gone, so failing open
	// must not bring it back); nil means none is.
	Gone func(*record.Set) bool
	// Served returns the answer counters of a set; nil means none are kept.
	Served func(record.Key) *Served
}

// Build makes a snapshot. Sets whose zone is not in in.Zones are ignored.
// The SOA serial is the zone's own unless it is 1 (the default), in which
// case it follows the store revision so that it grows with every change.
func Build(in Input) *Snapshot {
	snap := &Snapshot{Rev: in.Rev, zones: make(map[string]*Zone, len(in.Zones))}
	origins := make(map[string]*record.Zone, len(in.Zones))
	for i := range in.Zones {
		z := newZone(&in.Zones[i], in.Rev)
		snap.zones[z.Origin] = z
		origins[z.Origin] = &in.Zones[i]
	}
	sets := append([]record.Set(nil), in.Sets...)
	sort.Slice(sets, func(i, j int) bool { return lessKey(&sets[i].Key, &sets[j].Key) })
	groups := map[nodeType][]*record.Set{}
	for i := range sets {
		s := &sets[i]
		if snap.zones[s.Zone] == nil || s.State == record.Draining || in.Gone != nil && in.Gone(s) {
			if z := snap.zones[s.Zone]; z != nil {
				z.addNode(s.Name) // the name of a set that left still exists
			}
			continue
		}
		k := nodeType{s.Zone, s.Name, qtypes[s.Type]}
		groups[k] = append(groups[k], s)
	}
	for k, g := range groups {
		z := snap.zones[k.zone]
		z.addNode(k.name).rrsets[k.qtype] = newRRSet(g, origins[k.zone].Policy(k.name), in)
	}
	return snap
}

type nodeType struct {
	zone, name string
	qtype      uint16
}

func lessKey(a, b *record.Key) bool {
	if a.Zone != b.Zone {
		return a.Zone < b.Zone
	}
	if a.Name != b.Name {
		return a.Name < b.Name
	}
	if a.Type != b.Type {
		return a.Type < b.Type
	}
	return a.SetID < b.SetID
}

func newZone(z *record.Zone, rev int64) *Zone {
	serial := z.SOA.Serial
	if serial <= 1 && rev > 0 {
		serial = uint32(rev)
	}
	neg := min(z.SOA.TTL, z.SOA.Minimum)
	out := &Zone{
		Origin: z.Name,
		SOA:    soaRR(z, z.SOA.TTL, serial),
		NegSOA: soaRR(z, neg, serial),
		NS:     nsRRs(z),
		nodes:  map[string]*node{},
	}
	out.setWire()
	apex := out.addNode(z.Name)
	apex.rrsets[dns.TypeSOA] = &rrset{fixed: []dns.RR{out.SOA}}
	apex.rrsets[dns.TypeNS] = &rrset{fixed: out.NS}
	for name := range z.Policies {
		if record.InZone(name, z.Name) {
			out.addNode(name)
		}
	}
	return out
}

// addNode returns the node of name, creating it and its empty parents up to
// the origin.
func (z *Zone) addNode(name string) *node {
	if n := z.nodes[name]; n != nil {
		return n
	}
	n := &node{rrsets: map[uint16]*rrset{}}
	z.nodes[name] = n
	for p := name; p != z.Origin; {
		i := strings.IndexByte(p, '.')
		if i < 0 || i == len(p)-1 {
			break
		}
		p = p[i+1:]
		if _, ok := z.nodes[p]; ok {
			break
		}
		z.nodes[p] = &node{rrsets: map[uint16]*rrset{}}
	}
	return n
}

// newRRSet builds the choice among the sets of one name and type.
func newRRSet(sets []*record.Set, policy record.Policy, in Input) *rrset {
	rs := &rrset{sets: make([]*Set, len(sets))}
	cands := make([]selector.Candidate, len(sets))
	for i, s := range sets {
		weight := s.Weight
		if !s.Weighted() {
			weight = 1
		}
		cands[i] = selector.Candidate{Weight: weight, Eligible: in.Eligible == nil || in.Eligible(s)}
		rs.sets[i] = &Set{Key: s.Key, TTL: s.TTL, RRs: buildRRs(s)}
		rs.sets[i].setWire()
		if in.Served != nil {
			rs.sets[i].Served = in.Served(s.Key)
		}
	}
	rs.group = selector.NewGroup(policy, cands)
	return rs
}
