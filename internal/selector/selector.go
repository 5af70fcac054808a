// Package selector chooses the record sets of an answer: Route 53 weighted
// routing (weights, zero-weight fallback, fail-open), multivalue and
// fail-closed. It is pure: randomness is injected, nothing is shared, and a
// choice allocates nothing.
package selector

import (
	"math/rand/v2"
	"sort"

	"github.com/dnslb/dnslb/internal/record"
)

// Rand is the randomness a choice uses; *math/rand/v2.Rand satisfies it.
type Rand interface{ Uint64N(n uint64) uint64 }

// Fast is the production Rand: math/rand/v2's global generator, which is
// per-thread in the runtime and takes no lock. The zero value is ready.
type Fast struct{}

// Uint64N returns a uniform number in [0, n).
func (Fast) Uint64N(n uint64) uint64 { return rand.Uint64N(n) }

// Candidate is one record set of a name and type as the selector sees it.
type Candidate struct {
	Weight   int  // 0..255
	Eligible bool // active, lease alive, healthy (computed by the caller)
}

// MaxMulti is the most sets a multivalue answer holds.
const MaxMulti = 8

// tier is a set of candidates chosen among by weight (or uniformly when
// all weights are zero), with cumulative weights for a binary search.
type tier struct {
	idx []int    // candidate indices
	cum []uint64 // cum[i] = sum of weights of idx[0..i]; nil when uniform
}

func (t *tier) empty() bool { return len(t.idx) == 0 }

// pick returns one candidate index of t.
func (t *tier) pick(r Rand) int {
	if t.cum == nil {
		return t.idx[r.Uint64N(uint64(len(t.idx)))]
	}
	x := r.Uint64N(t.cum[len(t.cum)-1])
	i := sort.Search(len(t.cum), func(i int) bool { return t.cum[i] > x })
	return t.idx[i]
}

func newTier(cands []Candidate, keep func(Candidate) bool, weighted bool) tier {
	var t tier
	var sum uint64
	for i, c := range cands {
		if !keep(c) {
			continue
		}
		t.idx = append(t.idx, i)
		if weighted {
			sum += uint64(c.Weight)
			t.cum = append(t.cum, sum)
		}
	}
	return t
}

// Group is an immutable, precomputed choice over the candidates of one
// name and type. It is safe for concurrent use.
type Group struct {
	policy record.Policy
	cands  []Candidate
	// tiers in the order the rules try them: eligible positive weights,
	// eligible zero weights, then (fail-open) all positive, all zero.
	tiers [4]tier
	first int // the first non-empty tier, -1 when none applies
}

// NewGroup precomputes the choice among cands under policy p.
func NewGroup(p record.Policy, cands []Candidate) *Group {
	g := &Group{policy: p, cands: append([]Candidate(nil), cands...), first: -1}
	g.tiers[0] = newTier(cands, func(c Candidate) bool { return c.Eligible && c.Weight > 0 }, true)
	g.tiers[1] = newTier(cands, func(c Candidate) bool { return c.Eligible && c.Weight <= 0 }, false)
	g.tiers[2] = newTier(cands, func(c Candidate) bool { return c.Weight > 0 }, true)
	g.tiers[3] = newTier(cands, func(c Candidate) bool { return c.Weight <= 0 }, false)
	last := len(g.tiers)
	if p == record.FailClosed {
		last = 2 // nothing eligible gives no answer
	}
	for i := range last {
		if !g.tiers[i].empty() {
			g.first = i
			break
		}
	}
	return g
}

// Len is the number of candidates.
func (g *Group) Len() int { return len(g.cands) }

// Choose appends to dst the indices (into the candidates) of the sets to
// answer with and returns it: one for Weighted and FailClosed, up to
// MaxMulti distinct ones for Multivalue, none when the policy gives no
// answer (FailClosed with nothing eligible, or no candidates).
func (g *Group) Choose(r Rand, dst []int) []int {
	if g.first < 0 {
		return dst
	}
	if g.policy != record.Multivalue {
		return append(dst, g.tiers[g.first].pick(r))
	}
	return g.chooseMulti(r, dst)
}

// chooseMulti draws up to MaxMulti distinct sets: weighted without
// replacement from the eligible positive weights, then uniformly from the
// eligible zero weights; when nothing is eligible, the same from all sets
// (fail-open).
func (g *Group) chooseMulti(r Rand, dst []int) []int {
	start := len(dst)
	from, to := 0, 2
	if g.first >= 2 {
		from, to = 2, 4
	}
	for t := from; t < to && len(dst)-start < MaxMulti; t++ {
		dst = g.tiers[t].drawDistinct(r, dst, start)
	}
	return dst
}

// drawDistinct appends members of t not yet in dst[start:], by weight
// without replacement, until MaxMulti are chosen or t is used up.
func (t *tier) drawDistinct(r Rand, dst []int, start int) []int {
	var taken [MaxMulti]int // positions in t.idx already drawn from this tier
	n := 0
	for len(dst)-start < MaxMulti && n < len(t.idx) {
		pos := t.drawExcluding(r, taken[:n])
		taken[n] = pos
		n++
		dst = append(dst, t.idx[pos])
	}
	return dst
}

// drawExcluding picks a position of t, by weight, among those not in taken.
func (t *tier) drawExcluding(r Rand, taken []int) int {
	var total uint64
	for i := range t.idx {
		if !contains(taken, i) {
			total += t.weight(i)
		}
	}
	x := r.Uint64N(total)
	for i := range t.idx {
		if contains(taken, i) {
			continue
		}
		if w := t.weight(i); x < w {
			return i
		} else {
			x -= w
		}
	}
	panic("selector: draw out of range") // unreachable: x < total
}

// weight of position i: its weight, or 1 in a uniform tier.
func (t *tier) weight(i int) uint64 {
	if t.cum == nil {
		return 1
	}
	if i == 0 {
		return t.cum[0]
	}
	return t.cum[i] - t.cum[i-1]
}

func contains(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
