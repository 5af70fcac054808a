package selector

// FailOpen reports whether the group answers with ineligible sets because
// none is eligible (Route 53's "nothing healthy = all healthy").
func (g *Group) FailOpen() bool { return g.failOpen }

// Shares returns, per candidate, its expected part of the records the
// group answers with, as the rules give it now: weight over the sum of the
// weights of the tier the rule draws from (uniform in a zero-weight tier),
// 0 for the candidates the rule leaves out. The shares sum to 1, or to 0
// when the group gives no answer. For Multivalue a set's part is its
// chance to be in an answer over the expected number of sets in one; with
// more than MaxMulti positive-weight sets to draw from, that chance is
// taken as proportional to the weight (the exact draw without replacement
// favours light sets a little).
func (g *Group) Shares() []float64 {
	shares := make([]float64, g.n)
	if !g.multi {
		g.tiers[0].share(shares, 1)
		return shares
	}
	k := min(MaxMulti, g.tiers[0].len())
	m := min(MaxMulti-k, g.tiers[1].len())
	if k+m == 0 {
		return shares
	}
	g.tiers[0].multiShare(shares, k, k+m)
	g.tiers[1].multiShare(shares, m, k+m)
	return shares
}

// multiShare adds to shares[c] each member c's part of a multivalue answer
// of size records that draws k members from the tier: its chance to be
// drawn over size. All are drawn when k is the whole tier; else the chance
// is taken as k times its width over the tier's (see Shares).
func (t *tier) multiShare(shares []float64, k, size int) {
	if k == 0 {
		return
	}
	if k == t.len() {
		for _, c := range t.idx {
			shares[c] += 1 / float64(size)
		}
		return
	}
	t.share(shares, float64(k)/float64(size))
}

// share adds to shares[c] each member c's part of total: its width over
// the tier's.
func (t *tier) share(shares []float64, total float64) {
	sum := t.total()
	if sum == 0 {
		return
	}
	for i, c := range t.idx {
		shares[c] += total * float64(t.width(i)) / float64(sum)
	}
}
