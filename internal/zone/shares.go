package zone

import (
	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/selector"
)

// Group is the record sets of one name and type as a snapshot answers with
// them: the sets that may be chosen (draining sets and lapsed leases are
// not among them) and each one's share of the answers under the rules now.
type Group struct {
	Sets     []*Set
	Shares   []float64     // by index into Sets; see selector.Group.Shares
	FailOpen bool          // no set is eligible: the rule answers with all of them
	Tier     selector.Tier // the sets the rule draws from now
}

// Group returns the group of the sets with k's zone, name and type (k's
// set id is ignored), and whether the snapshot answers for them at all.
func (s *Snapshot) Group(k record.Key) (Group, bool) {
	rs := s.rrset(k)
	if rs == nil || rs.group == nil {
		return Group{}, false
	}
	return Group{Sets: rs.sets, Shares: rs.group.Shares(), FailOpen: rs.group.FailOpen(), Tier: rs.group.Tier()}, true
}

func (s *Snapshot) rrset(k record.Key) *rrset {
	z := s.zones[k.Zone]
	if z == nil {
		return nil
	}
	n := z.node(k.Name)
	if n == nil {
		return nil
	}
	return n.rrsets[qtypes[k.Type]]
}

// EachGroup calls fn with every group of weighted record sets that the
// snapshot answers from, in no particular order.
func (s *Snapshot) EachGroup(fn func(sets []*Set)) {
	for _, z := range s.zones {
		for _, shard := range z.shards {
			for _, n := range shard {
				for _, rs := range n.rrsets {
					if len(rs.sets) > 0 && rs.sets[0].Key.SetID != "" {
						fn(rs.sets)
					}
				}
			}
		}
	}
}
