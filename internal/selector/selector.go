// Package selector chooses the record sets of an answer: Route 53 weighted
// routing (weights, zero-weight fallback, fail-open), multivalue and
// fail-closed.
//
// The rules, for the candidates of one name and type (P = weight > 0,
// Z = weight 0, eligible = active, lease alive and healthy):
//
//	if any eligible in P:   pick r in eligible(P) with probability w_r / sum of eligible P weights
//	elif any eligible in Z: pick uniformly in eligible(Z)
//	elif P non-empty:       pick r in P by weight    # fail-open: nothing healthy = all healthy
//	else:                   pick uniformly in Z      # all-zero group
//
// FailClosed is the same, except that it gives no answer when nothing is
// eligible. Multivalue answers with up to MaxMulti distinct sets: drawn by
// weight without replacement from eligible(P), then, while fewer than
// MaxMulti are chosen, uniformly without replacement from eligible(Z).
// Ineligible sets never fill an answer while any set is eligible; when none
// is (fail-open), the same two-step draw runs over all of P, then all of Z.
// So the first set of a multivalue answer is distributed exactly as the one
// set of a weighted answer.
//
// NewGroup does the work once per name (tiers and cumulative weights);
// Choose is then a binary search per weighted pick and O(k² + k log n) for
// a multivalue answer of k sets, for any number of candidates. The package
// is pure: randomness is injected, nothing is shared, and Choose allocates
// nothing beyond growing dst.
package selector

import (
	"math/rand/v2"

	"github.com/dnslb/dnslb/internal/record"
)

// Rand is the randomness a choice uses; *math/rand/v2.Rand satisfies it.
// Uint64N returns a uniform number in [0, n); Choose never passes n = 0.
type Rand interface{ Uint64N(n uint64) uint64 }

// Fast is the production Rand: math/rand/v2's global generator, which is
// per-thread in the runtime and takes no lock. The zero value is ready.
type Fast struct{}

// Uint64N returns a uniform number in [0, n).
func (Fast) Uint64N(n uint64) uint64 { return rand.Uint64N(n) }

// Candidate is one record set of a name and type as the selector sees it.
type Candidate struct {
	Weight   int  // 0..255; outside that range it is clamped
	Eligible bool // active, lease alive, healthy (computed by the caller)
}

// MaxMulti is the most sets a multivalue answer holds.
const MaxMulti = 8

// maxWeight is the largest weight (Route 53's); larger ones are clamped so
// that sums never overflow, however many candidates a group has.
const maxWeight = 255

// Group is an immutable, precomputed choice over the candidates of one
// name and type. It is safe for concurrent use.
type Group struct {
	n        int  // number of candidates
	multi    bool // policy is Multivalue
	failOpen bool // no candidate is eligible: the rule draws among all
	// tiers the rule draws from. Weighted and FailClosed use tiers[0] only:
	// the one tier the rule picks in, empty when there is no answer.
	// Multivalue draws from tiers[0] by weight, then from tiers[1].
	tiers [2]tier
}

// NewGroup precomputes the choice among cands under policy p. A policy
// other than Multivalue and FailClosed is Weighted. cands is not retained.
func NewGroup(p record.Policy, cands []Candidate) *Group {
	// Only eligible sets count when there are any; FailClosed never fails open.
	eligibleOnly := anyEligible(cands) || p == record.FailClosed
	pos := newTier(cands, eligibleOnly, true)
	zero := newTier(cands, eligibleOnly, false)
	g := &Group{n: len(cands), multi: p == record.Multivalue, failOpen: !eligibleOnly && len(cands) > 0}
	switch {
	case g.multi:
		g.tiers = [2]tier{pos, zero}
	case pos.empty():
		g.tiers[0] = zero
	default:
		g.tiers[0] = pos
	}
	return g
}

// Len is the number of candidates.
func (g *Group) Len() int { return g.n }

// Choose appends to dst the indices (into the candidates) of the sets to
// answer with and returns it: one for Weighted and FailClosed, up to
// MaxMulti distinct ones for Multivalue, none when the policy gives no
// answer (FailClosed with nothing eligible, or no candidates).
func (g *Group) Choose(r Rand, dst []int) []int {
	if g.multi {
		return g.chooseMulti(r, dst)
	}
	if g.tiers[0].empty() {
		return dst
	}
	return append(dst, g.tiers[0].pick(r))
}

// chooseMulti draws up to MaxMulti distinct sets: by weight without
// replacement from the first tier, then uniformly from the second.
func (g *Group) chooseMulti(r Rand, dst []int) []int {
	k := min(MaxMulti, g.tiers[0].len())
	dst = g.tiers[0].draw(r, dst, k)
	return g.tiers[1].draw(r, dst, MaxMulti-k)
}

func anyEligible(cands []Candidate) bool {
	for _, c := range cands {
		if c.Eligible {
			return true
		}
	}
	return false
}

// weight is c's weight clamped to 0..maxWeight.
func weight(c Candidate) uint64 {
	return uint64(min(max(c.Weight, 0), maxWeight))
}
