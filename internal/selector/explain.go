package selector

// Tier says which candidates a group's rule draws from now, for
// explanations (dnslb explain); it is read from the same tiers Choose
// uses.
type Tier int

// Tiers.
const (
	TierNone         Tier = iota // no answer: no candidates, or fail-closed with none eligible
	TierWeighted                 // eligible sets with weight > 0, by weight
	TierStandby                  // eligible sets with weight 0, uniformly: none with weight > 0 is eligible
	TierFailOpen                 // no set is eligible: all sets with weight > 0, by weight
	TierFailOpenZero             // no set is eligible and all weigh 0: all of them, uniformly
	TierMulti                    // multivalue: eligible sets, by weight, then weight-0 ones
	TierMultiOpen                // multivalue, no set eligible: all sets, by weight, then weight-0 ones
)

// Tier returns the tier the rule draws from now.
func (g *Group) Tier() Tier {
	switch {
	case g.multi && g.tiers[0].empty() && g.tiers[1].empty():
		return TierNone
	case g.multi && g.failOpen:
		return TierMultiOpen
	case g.multi:
		return TierMulti
	case g.tiers[0].empty():
		return TierNone
	}
	weighted := g.tiers[0].cum != nil
	switch {
	case g.failOpen && weighted:
		return TierFailOpen
	case g.failOpen:
		return TierFailOpenZero
	case weighted:
		return TierWeighted
	}
	return TierStandby
}

// String says what the tier is, in words.
func (t Tier) String() string {
	switch t {
	case TierWeighted:
		return "eligible sets with weight > 0, by weight"
	case TierStandby:
		return "eligible sets with weight 0 (standby), uniformly: no set with weight > 0 is eligible"
	case TierFailOpen:
		return "fail-open: no set is eligible, so all sets with weight > 0 answer, by weight"
	case TierFailOpenZero:
		return "fail-open: no set is eligible, so all sets (all weight 0) answer, uniformly"
	case TierMulti:
		return "multivalue: up to 8 eligible sets, by weight, then weight-0 ones"
	case TierMultiOpen:
		return "multivalue, fail-open: no set is eligible, so up to 8 of all sets answer"
	}
	return "none: no set answers (NODATA)"
}

// MarshalText writes the tier in words.
func (t Tier) MarshalText() ([]byte, error) { return []byte(t.String()), nil }
