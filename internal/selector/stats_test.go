package selector_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/selector"
)

// picks is how many choices each statistical case makes.
const picks = 200_000

// anchor is the weight vector the answer-share tests are anchored on.
var anchor = []int{10, 10, 20, 20, 30, 30, 40, 40, 50, 50}

// shareCase expects the set at position pos of each answer to be
// candidate i with probability want[i].
type shareCase struct {
	name   string
	policy record.Policy
	cands  []selector.Candidate
	pos    int
	want   []float64
}

var shareCases = []shareCase{
	{name: "10/30", cands: cands(up(10), up(30)), want: shares(10, 30)},
	{name: "anchor set", cands: allUp(anchor), want: shares(anchor...)},
	{name: "eligible subset", cands: someDown(anchor, 2, 5, 8), want: shares(10, 10, 0, 20, 30, 0, 40, 40, 0, 50)},
	{name: "eligible subset, fail-closed", policy: record.FailClosed,
		cands: someDown(anchor, 0, 9), want: shares(0, 10, 20, 20, 30, 30, 40, 40, 50, 0)},
	{name: "all zero: uniform", cands: cands(down(0), down(0), down(0), down(0), down(0)), want: shares(1, 1, 1, 1, 1)},
	{name: "eligible zero: uniform", cands: cands(up(0), down(0), up(0), down(10)), want: shares(1, 0, 1, 0)},
	{name: "fail-open by weight", cands: cands(down(10), down(30), down(60), down(0)), want: shares(10, 30, 60, 0)},
	{name: "255 and 1", cands: cands(up(255), up(1), up(255)), want: shares(255, 1, 255)},
	{name: "100 candidates", cands: ramp(100, true), want: shares(rampWeights(100)...)},
	{name: "multivalue first set", policy: record.Multivalue, cands: allUp(anchor), want: shares(anchor...)},
	{name: "multivalue first set, fail-open", policy: record.Multivalue,
		cands: cands(down(10), down(30), down(60), down(0)), want: shares(10, 30, 60, 0)},
	{name: "multivalue second set", policy: record.Multivalue,
		cands: cands(up(10), up(30), up(60)), pos: 1, want: secondShares(10, 30, 60)},
	{name: "multivalue second set, anchor", policy: record.Multivalue,
		cands: allUp(anchor), pos: 1, want: secondShares(anchor...)},
	{name: "multivalue zero fill: uniform", policy: record.Multivalue,
		cands: cands(up(0), up(10), down(5), up(0), up(20), up(0)), pos: 2, want: shares(1, 0, 0, 1, 0, 1)},
}

// Answer shares match the weights: a chi-square goodness-of-fit test at
// p = 0.001 over a fixed seed.
func TestShares(t *testing.T) {
	for n, c := range shareCases {
		t.Run(c.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(n)+1, 0x5eed))
			g := selector.NewGroup(c.policy, c.cands)
			counts := tally(t, g, r, c)
			stat, df := chiSquare(t, counts, c.want)
			crit := critical(df)
			if stat > crit {
				t.Errorf("chi-square %.2f > %.2f (df %d, p = 0.001): counts %v", stat, crit, df, counts)
			}
			t.Logf("chi-square %.2f, critical %.2f (df %d)", stat, crit, df)
		})
	}
}

// tally counts which candidate each of picks answers holds at c.pos,
// checking every answer's invariants on the way.
func tally(t *testing.T, g *selector.Group, r selector.Rand, c shareCase) []int {
	counts := make([]int, len(c.cands))
	dst := make([]int, 0, selector.MaxMulti)
	for range picks {
		dst = g.Choose(r, dst[:0])
		checkInvariants(t, c.policy, c.cands, dst)
		counts[dst[c.pos]]++
	}
	return counts
}

// chiSquare is the goodness-of-fit statistic of counts against the
// probabilities want, and its degrees of freedom. A category of
// probability 0 must never occur.
func chiSquare(t *testing.T, counts []int, want []float64) (stat float64, df int) {
	total := 0
	for _, n := range counts {
		total += n
	}
	for i, p := range want {
		if p == 0 {
			if counts[i] != 0 {
				t.Fatalf("candidate %d has probability 0 but was chosen %d times", i, counts[i])
			}
			continue
		}
		e := p * float64(total)
		d := float64(counts[i]) - e
		stat += d * d / e
		df++
	}
	return stat, df - 1
}

// criticalTable holds the chi-square critical values at p = 0.001 for 1 to
// 10 degrees of freedom.
var criticalTable = []float64{10.828, 13.816, 16.266, 18.467, 20.515, 22.458, 24.322, 26.124, 27.877, 29.588}

// critical is the chi-square value exceeded with probability 0.001: from
// the table, or by the Wilson–Hilferty approximation past it.
func critical(df int) float64 {
	if df <= len(criticalTable) {
		return criticalTable[df-1]
	}
	const z = 3.090232306 // standard normal quantile at 0.999
	k := float64(df)
	return k * math.Pow(1-2/(9*k)+z*math.Sqrt(2/(9*k)), 3)
}

// The approximation agrees with the table within 2% from 3 degrees of
// freedom on (it errs high, by less as df grows).
func TestCritical(t *testing.T) {
	const z = 3.090232306
	for df := 3; df <= len(criticalTable); df++ {
		k := float64(df)
		wh := k * math.Pow(1-2/(9*k)+z*math.Sqrt(2/(9*k)), 3)
		if got := criticalTable[df-1]; math.Abs(wh-got)/got > 0.02 {
			t.Errorf("df %d: Wilson–Hilferty %.3f, table %.3f", df, wh, got)
		}
	}
	if got := critical(99); math.Abs(got-148.23) > 0.5 {
		t.Errorf("critical(99) = %.2f, want about 148.23", got)
	}
}

// shares normalises weights to probabilities.
func shares(w ...int) []float64 {
	sum := 0
	for _, x := range w {
		sum += x
	}
	p := make([]float64, len(w))
	for i, x := range w {
		p[i] = float64(x) / float64(sum)
	}
	return p
}

// secondShares is the probability that each set comes second in a draw by
// weight without replacement: the sum over first sets i of
// w_i/W · w_j/(W - w_i).
func secondShares(w ...int) []float64 {
	first := shares(w...)
	p := make([]float64, len(w))
	for i := range w {
		for j := range w {
			if i != j {
				p[j] += first[i] * first[j] / (1 - first[i])
			}
		}
	}
	return p
}

func allUp(w []int) []selector.Candidate {
	cs := make([]selector.Candidate, len(w))
	for i, x := range w {
		cs[i] = up(x)
	}
	return cs
}

// someDown is allUp(w) with the candidates at idx ineligible.
func someDown(w []int, idx ...int) []selector.Candidate {
	cs := allUp(w)
	for _, i := range idx {
		cs[i].Eligible = false
	}
	return cs
}

func rampWeights(n int) []int {
	w := make([]int, n)
	for i := range w {
		w[i] = i + 1
	}
	return w
}
