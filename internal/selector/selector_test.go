package selector_test

import (
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/selector"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// up and down are an eligible and an ineligible candidate.
func up(w int) selector.Candidate   { return selector.Candidate{Weight: w, Eligible: true} }
func down(w int) selector.Candidate { return selector.Candidate{Weight: w} }

// script is a Rand that returns scripted values and records the bounds it
// was asked for, so a case pins both the totals drawn over and the result.
type script struct {
	t    testing.TB
	vals []uint64
	ns   []uint64
}

func (s *script) Uint64N(n uint64) uint64 {
	s.ns = append(s.ns, n)
	if len(s.vals) == 0 {
		s.t.Fatalf("unscripted draw Uint64N(%d)", n)
	}
	v := s.vals[0]
	s.vals = s.vals[1:]
	if v >= n {
		s.t.Fatalf("scripted %d for Uint64N(%d)", v, n)
	}
	return v
}

// ruleCase is one choice with scripted draws: draws are the values Uint64N
// returns, ns the bounds it must be asked for (the tier's total), want the
// indices chosen.
type ruleCase struct {
	name   string
	policy record.Policy
	cands  []selector.Candidate
	draws  []uint64
	ns     []uint64
	want   []int
}

var weightedCases = []ruleCase{
	{name: "no candidates"},
	{name: "single eligible, no draw", cands: cands(up(10)), want: []int{0}},
	{name: "single ineligible fails open", cands: cands(down(10)), want: []int{0}},
	{name: "single zero", cands: cands(up(0)), want: []int{0}},
	{name: "10/30 low end", cands: cands(up(10), up(30)), draws: []uint64{0}, ns: []uint64{40}, want: []int{0}},
	{name: "10/30 boundary", cands: cands(up(10), up(30)), draws: []uint64{9}, ns: []uint64{40}, want: []int{0}},
	{name: "10/30 past boundary", cands: cands(up(10), up(30)), draws: []uint64{10}, ns: []uint64{40}, want: []int{1}},
	{name: "10/30 high end", cands: cands(up(10), up(30)), draws: []uint64{39}, ns: []uint64{40}, want: []int{1}},
	{name: "ineligible weight left out of the total",
		cands: cands(up(10), down(30), up(20)), draws: []uint64{10}, ns: []uint64{30}, want: []int{2}},
	{name: "eligible P beats eligible Z",
		cands: cands(up(0), up(5), up(0), up(7)), draws: []uint64{5}, ns: []uint64{12}, want: []int{3}},
	{name: "one eligible in P, no draw", cands: cands(up(0), up(5), down(7)), want: []int{1}},
	{name: "no eligible P: uniform over eligible Z",
		cands: cands(down(10), up(0), up(0), down(0)), draws: []uint64{1}, ns: []uint64{2}, want: []int{2}},
	{name: "nothing eligible: P by weight, never Z",
		cands: cands(down(10), down(0), down(30)), draws: []uint64{10}, ns: []uint64{40}, want: []int{2}},
	{name: "nothing eligible, all zero: uniform over all",
		cands: cands(down(0), down(0), down(0)), draws: []uint64{2}, ns: []uint64{3}, want: []int{2}},
	{name: "all zero, some eligible: uniform over eligible",
		cands: cands(down(0), up(0), up(0)), draws: []uint64{0}, ns: []uint64{2}, want: []int{1}},
	{name: "weights 255", cands: cands(up(255), up(255)), draws: []uint64{255}, ns: []uint64{510}, want: []int{1}},
	{name: "out-of-range weights clamped",
		cands: cands(up(-5), up(300), up(1)), draws: []uint64{255}, ns: []uint64{256}, want: []int{2}},
	{name: "100 candidates", cands: ramp(100, true), draws: []uint64{5049}, ns: []uint64{5050}, want: []int{99}},
}

var failClosedCases = []ruleCase{
	{name: "no candidates"},
	{name: "nothing eligible: no answer", cands: cands(down(10), down(0), down(30))},
	{name: "nothing eligible, all zero: no answer", cands: cands(down(0), down(0))},
	{name: "eligible P", cands: cands(up(10), down(30), up(20)), draws: []uint64{9}, ns: []uint64{30}, want: []int{0}},
	{name: "eligible Z only", cands: cands(down(10), up(0), up(0)), draws: []uint64{1}, ns: []uint64{2}, want: []int{2}},
	{name: "single eligible", cands: cands(down(10), up(3)), want: []int{1}},
}

var multivalueCases = []ruleCase{
	{name: "no candidates"},
	{name: "single", cands: cands(down(10)), want: []int{0}},
	{name: "weighted order without replacement",
		// 60 points: 1 owns [10,30); then 0 owns [0,10), 2 [10,40); 0 is last.
		cands: cands(up(10), up(20), up(30)), draws: []uint64{10, 10}, ns: []uint64{60, 40}, want: []int{1, 2, 0}},
	{name: "eligible P, then eligible Z uniformly",
		cands: cands(up(10), up(0), down(20), up(30), up(0)),
		draws: []uint64{35, 1}, ns: []uint64{40, 2}, want: []int{3, 0, 4, 1}},
	{name: "ineligible sets never fill", cands: cands(up(10), down(20), down(0)), want: []int{0}},
	{name: "eligible Z only", cands: cands(down(10), up(0), down(20)), want: []int{1}},
	{name: "nothing eligible: P by weight, then Z",
		cands: cands(down(10), down(0), down(20)), draws: []uint64{10}, ns: []uint64{30}, want: []int{2, 0, 1}},
	{name: "at most eight",
		cands: cands(up(1), up(1), up(1), up(1), up(1), up(1), up(1), up(1), up(1), up(1), up(1), up(1)),
		draws: []uint64{0, 0, 0, 0, 0, 0, 0, 0}, ns: []uint64{12, 11, 10, 9, 8, 7, 6, 5},
		want: []int{0, 1, 2, 3, 4, 5, 6, 7}},
	{name: "eight from P leave Z out",
		cands: append(ramp(8, true), up(0)),
		draws: []uint64{0, 0, 0, 0, 0, 0, 0}, ns: []uint64{36, 35, 33, 30, 26, 21, 15},
		want: []int{0, 1, 2, 3, 4, 5, 6, 7}},
	{name: "draws skip the cut runs",
		// 100: 3 owns [60,100). Left 0 [0,10) 1 [10,30) 2 [30,60): 45 is 2.
		// Left 0 [0,10) 1 [10,30): 29 is 1.
		cands: cands(up(10), up(20), up(30), up(40)),
		draws: []uint64{99, 45, 29}, ns: []uint64{100, 60, 30}, want: []int{3, 2, 1, 0}},
}

func TestWeighted(t *testing.T)   { runRules(t, record.Weighted, weightedCases) }
func TestFailClosed(t *testing.T) { runRules(t, record.FailClosed, failClosedCases) }
func TestMultivalue(t *testing.T) { runRules(t, record.Multivalue, multivalueCases) }

// FailClosed answers as Weighted whenever anything is eligible.
func TestFailClosedAsWeighted(t *testing.T) {
	var cases []ruleCase
	for _, c := range weightedCases {
		if slices.ContainsFunc(c.cands, func(c selector.Candidate) bool { return c.Eligible }) {
			cases = append(cases, c)
		}
	}
	runRules(t, record.FailClosed, cases)
}

// An unknown policy is Weighted.
func TestUnknownPolicy(t *testing.T) { runRules(t, "", weightedCases) }

func runRules(t *testing.T, p record.Policy, cases []ruleCase) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := &script{t: t, vals: c.draws}
			g := selector.NewGroup(p, c.cands)
			got := g.Choose(r, nil)
			if !slices.Equal(got, c.want) {
				t.Errorf("chose %v, want %v", got, c.want)
			}
			if !slices.Equal(r.ns, c.ns) {
				t.Errorf("drew over %v, want %v", r.ns, c.ns)
			}
			if g.Len() != len(c.cands) {
				t.Errorf("Len %d, want %d", g.Len(), len(c.cands))
			}
		})
	}
}

// Choose appends after what dst holds and leaves it alone.
func TestChooseAppends(t *testing.T) {
	for _, p := range []record.Policy{record.Weighted, record.FailClosed, record.Multivalue} {
		g := selector.NewGroup(p, cands(up(10), up(30)))
		got := g.Choose(&script{t: t, vals: []uint64{39}}, []int{7, 7})
		if got[0] != 7 || got[1] != 7 || got[2] != 1 {
			t.Errorf("%s: %v, want [7 7 1 ...]", p, got)
		}
	}
}

// NewGroup keeps no reference to the caller's slice.
func TestNewGroupCopies(t *testing.T) {
	cs := cands(up(10), down(30))
	g := selector.NewGroup(record.Weighted, cs)
	cs[0].Eligible, cs[1].Eligible = false, true
	if got := g.Choose(selector.Fast{}, nil); !slices.Equal(got, []int{0}) {
		t.Errorf("after the caller's change: %v, want [0]", got)
	}
}

// Every weighted pick over 100 candidates, for every point, matches a
// linear walk over the weights: the binary search has no off-by-one.
func TestPickEveryPoint(t *testing.T) {
	cs := make([]selector.Candidate, 100)
	for i := range cs {
		cs[i] = selector.Candidate{Weight: (i * 37) % 256, Eligible: i%7 != 3}
	}
	g := selector.NewGroup(record.Weighted, cs)
	var total uint64
	for _, c := range cs {
		if c.Eligible {
			total += uint64(c.Weight)
		}
	}
	for x := range total {
		r := &script{t: t, vals: []uint64{x}}
		got := g.Choose(r, nil)
		if want := refChoose(record.Weighted, cs, &script{t: t, vals: []uint64{x}}); !slices.Equal(got, want) {
			t.Fatalf("point %d: chose %v, want %v", x, got, want)
		}
	}
}

// Choose agrees exactly with the reference for random groups and draws.
func TestAgainstReference(t *testing.T) {
	src := rand.New(rand.NewPCG(3, 5))
	for range 3000 {
		cs := randomCands(src)
		for _, p := range policies {
			seed := src.Uint64()
			got := selector.NewGroup(p, cs).Choose(rand.New(rand.NewPCG(seed, 1)), nil)
			want := refChoose(p, cs, rand.New(rand.NewPCG(seed, 1)))
			if !slices.Equal(got, want) {
				t.Fatalf("%s %v: chose %v, reference %v", p, cs, got, want)
			}
			checkInvariants(t, p, cs, got)
		}
	}
}

// A group is shared by every query goroutine.
func TestConcurrent(t *testing.T) {
	g := selector.NewGroup(record.Multivalue, ramp(20, true))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			dst := make([]int, 0, selector.MaxMulti)
			for range 1000 {
				if dst = g.Choose(selector.Fast{}, dst[:0]); len(dst) != selector.MaxMulti {
					t.Errorf("chose %v", dst)
					return
				}
			}
		})
	}
	wg.Wait()
}

// Choose allocates nothing when dst has room.
func TestChooseAllocs(t *testing.T) {
	for _, p := range policies {
		for _, cs := range [][]selector.Candidate{ramp(10, true), ramp(100, true), ramp(100, false), ramp(300, true)} {
			g := selector.NewGroup(p, cs)
			var r selector.Rand = selector.Fast{}
			dst := make([]int, 0, selector.MaxMulti)
			if n := testing.AllocsPerRun(1000, func() { dst = g.Choose(r, dst[:0]) }); n != 0 {
				t.Errorf("%s over %d: %v allocs per choice", p, len(cs), n)
			}
		}
	}
}

var policies = []record.Policy{record.Weighted, record.FailClosed, record.Multivalue}

func cands(c ...selector.Candidate) []selector.Candidate { return c }

// ramp is n candidates weighted 1..n, all eligible or none.
func ramp(n int, eligible bool) []selector.Candidate {
	cs := make([]selector.Candidate, n)
	for i := range cs {
		cs[i] = selector.Candidate{Weight: i + 1, Eligible: eligible}
	}
	return cs
}

// randomCands is up to 120 candidates, often with zero weights, ineligible
// sets, or no eligible set at all.
func randomCands(r *rand.Rand) []selector.Candidate {
	cs := make([]selector.Candidate, r.IntN(121))
	pZero, pUp := r.Float64(), r.Float64()
	for i := range cs {
		if r.Float64() >= pZero {
			cs[i].Weight = r.IntN(256)
		}
		cs[i].Eligible = r.Float64() < pUp
	}
	return cs
}
