package zone

import (
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

// Build makes a snapshot from scratch. Sets whose zone is not in in.Zones
// are ignored. The SOA serial is the zone's own unless it is 1 (the
// default), in which case it follows the store revision so that it grows
// with every change. A Builder makes later snapshots incrementally.
func Build(in Input) *Snapshot {
	b := NewBuilder()
	for _, z := range in.Zones {
		b.PutZone(z)
	}
	for _, s := range in.Sets {
		b.PutSet(s)
	}
	return b.Snapshot(in.Rev, Hooks{Eligible: in.Eligible, Gone: in.Gone, Served: in.Served})
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
		Glue:   glueRRs(z),
	}
	out.setWire()
	return out
}

// newRRSet builds the choice among the sets of one name and type.
func newRRSet(sets []*record.Set, policy record.Policy, in Hooks) *rrset {
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
