package selector_test

import (
	"slices"
	"testing"

	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/selector"
)

// refChoose is the rules written plainly, with lists and linear walks. It
// asks r for the same draws as Choose (a point on the remaining weights;
// none for the last one left), so the two must agree exactly.
func refChoose(p record.Policy, cs []selector.Candidate, r selector.Rand) []int {
	pos, zero := refTiers(p, cs)
	if p != record.Multivalue {
		switch {
		case len(pos) > 0:
			return []int{refDraw(r, cs, pos)}
		case len(zero) > 0:
			return []int{refDraw(r, cs, zero)}
		}
		return nil
	}
	var out []int
	for _, t := range [][]int{pos, zero} {
		for len(t) > 0 && len(out) < selector.MaxMulti {
			i := refDraw(r, cs, t)
			out = append(out, i)
			t = slices.DeleteFunc(slices.Clone(t), func(j int) bool { return j == i })
		}
	}
	return out
}

// refTiers splits the sets the rules may use by weight: the eligible ones
// when any is, else all of them (fail-open), or none for FailClosed.
func refTiers(p record.Policy, cs []selector.Candidate) (pos, zero []int) {
	anyUp := slices.ContainsFunc(cs, func(c selector.Candidate) bool { return c.Eligible })
	if !anyUp && p == record.FailClosed {
		return nil, nil
	}
	for i, c := range cs {
		switch {
		case anyUp && !c.Eligible:
		case refWeight(c) > 0:
			pos = append(pos, i)
		default:
			zero = append(zero, i)
		}
	}
	return pos, zero
}

// refDraw picks one of t by weight (each zero weight counts 1).
func refDraw(r selector.Rand, cs []selector.Candidate, t []int) int {
	if len(t) == 1 {
		return t[0]
	}
	w := func(i int) uint64 { return max(refWeight(cs[i]), 1) }
	var total uint64
	for _, i := range t {
		total += w(i)
	}
	x := r.Uint64N(total)
	for _, i := range t {
		if x < w(i) {
			return i
		}
		x -= w(i)
	}
	panic("refDraw: point past the end")
}

func refWeight(c selector.Candidate) uint64 { return uint64(min(max(c.Weight, 0), 255)) }

// checkInvariants checks a choice against the rules without replaying
// draws: indices in range and distinct, the right count, and no set from
// a tier the rules do not reach.
func checkInvariants(t testing.TB, p record.Policy, cs []selector.Candidate, got []int) {
	t.Helper()
	seen := map[int]bool{}
	for _, i := range got {
		if i < 0 || i >= len(cs) || seen[i] {
			t.Fatalf("%s %v: chose %v: index %d out of range or repeated", p, cs, got, i)
		}
		seen[i] = true
	}
	allowed, positive := countTiers(cs)
	want := min(allowed, 1)
	if p == record.Multivalue {
		want = min(allowed, selector.MaxMulti)
	}
	if p == record.FailClosed && !anyEligible(cs) {
		want = 0
	}
	if len(got) != want {
		t.Fatalf("%s %v: chose %d sets %v, want %d", p, cs, len(got), got, want)
	}
	for n, i := range got {
		if anyEligible(cs) && !cs[i].Eligible {
			t.Fatalf("%s %v: chose ineligible %d while some are eligible", p, cs, i)
		}
		if (refWeight(cs[i]) > 0) != (n < positive) {
			t.Fatalf("%s %v: chose %v: position %d breaks weighted-then-zero order", p, cs, got, n)
		}
	}
}

// countTiers counts the sets the rules may use and those of them with a
// positive weight.
func countTiers(cs []selector.Candidate) (allowed, positive int) {
	for _, c := range cs {
		if c.Eligible || !anyEligible(cs) {
			allowed++
			if refWeight(c) > 0 {
				positive++
			}
		}
	}
	return allowed, positive
}

func anyEligible(cs []selector.Candidate) bool {
	return slices.ContainsFunc(cs, func(c selector.Candidate) bool { return c.Eligible })
}
