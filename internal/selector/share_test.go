package selector

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/dnslb/dnslb/internal/record"
)

func TestShares(t *testing.T) {
	c := func(w int, eligible bool) Candidate { return Candidate{Weight: w, Eligible: eligible} }
	for _, tc := range []struct {
		name     string
		policy   record.Policy
		cands    []Candidate
		want     []float64
		failOpen bool
	}{
		{"weights", record.Weighted, []Candidate{c(10, true), c(30, true), c(0, true)}, []float64{0.25, 0.75, 0}, false},
		{"ineligible left out", record.Weighted, []Candidate{c(10, true), c(30, false)}, []float64{1, 0}, false},
		{"zero weights when no positive one is eligible", record.Weighted, []Candidate{c(10, false), c(0, true), c(0, true)}, []float64{0, 0.5, 0.5}, false},
		{"fail open", record.Weighted, []Candidate{c(10, false), c(30, false), c(0, false)}, []float64{0.25, 0.75, 0}, true},
		{"all zero, failing open", record.Weighted, []Candidate{c(0, false), c(0, false)}, []float64{0.5, 0.5}, true},
		{"fail closed", record.FailClosed, []Candidate{c(10, false), c(30, false)}, []float64{0, 0}, false},
		{"multivalue", record.Multivalue, []Candidate{c(10, true), c(30, true), c(0, true), c(5, false)}, []float64{1.0 / 3, 1.0 / 3, 1.0 / 3, 0}, false},
		{"no candidates", record.Weighted, nil, []float64{}, false},
	} {
		g := NewGroup(tc.policy, tc.cands)
		got := g.Shares()
		if len(got) != len(tc.want) || g.FailOpen() != tc.failOpen {
			t.Errorf("%s: shares %v fail-open %v; want %v %v", tc.name, got, g.FailOpen(), tc.want, tc.failOpen)
			continue
		}
		for i := range got {
			if math.Abs(got[i]-tc.want[i]) > 1e-9 {
				t.Errorf("%s: shares %v, want %v", tc.name, got, tc.want)
				break
			}
		}
	}
}

// TestSharesMatchChoose: the shares are what Choose does, counted over
// many answers, for the weighted rules (exactly) and multivalue (within
// the documented approximation it does not need here: at most 8 sets).
func TestSharesMatchChoose(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, p := range []record.Policy{record.Weighted, record.Multivalue} {
		cands := []Candidate{{Weight: 10, Eligible: true}, {Weight: 20, Eligible: true}, {Weight: 70, Eligible: true}, {Weight: 0, Eligible: true}}
		g := NewGroup(p, cands)
		counts := make([]float64, len(cands))
		var total float64
		var dst []int
		for range 100000 {
			dst = g.Choose(r, dst[:0])
			for _, i := range dst {
				counts[i]++
				total++
			}
		}
		for i, want := range g.Shares() {
			if got := counts[i] / total; math.Abs(got-want) > 0.01 {
				t.Errorf("%s: candidate %d answered %.3f of the time, share %.3f", p, i, got, want)
			}
		}
	}
}
