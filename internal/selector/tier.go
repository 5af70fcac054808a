package selector

// tier is the candidates one step of the rule chooses among: by weight, or
// uniformly when their weights are all zero.
//
// Each member owns a run of points on a line [0, total): member i owns
// [start(i), start(i)+width(i)), its weight in a weighted tier, 1 in a
// uniform one. A draw is a uniform point, mapped to its owner.
type tier struct {
	idx []int    // candidate indices, in candidate order
	cum []uint64 // cum[i] = sum of the weights of idx[:i+1]; nil when uniform
}

// newTier collects the candidates with weight > 0 (positive) or = 0
// (!positive), only eligible ones if eligibleOnly.
func newTier(cands []Candidate, eligibleOnly, positive bool) tier {
	in := func(c Candidate) bool {
		return (c.Eligible || !eligibleOnly) && (weight(c) > 0) == positive
	}
	n := 0
	for _, c := range cands {
		if in(c) {
			n++
		}
	}
	return fill(cands, in, n, positive)
}

// fill builds the tier of the n candidates for which in holds.
func fill(cands []Candidate, in func(Candidate) bool, n int, weighted bool) tier {
	t := tier{idx: make([]int, 0, n)}
	if weighted {
		t.cum = make([]uint64, 0, n)
	}
	var sum uint64
	for i, c := range cands {
		if !in(c) {
			continue
		}
		t.idx = append(t.idx, i)
		if weighted {
			sum += weight(c)
			t.cum = append(t.cum, sum)
		}
	}
	return t
}

func (t *tier) len() int    { return len(t.idx) }
func (t *tier) empty() bool { return len(t.idx) == 0 }

// total is the length of the line: the sum of the widths.
func (t *tier) total() uint64 {
	if len(t.cum) == 0 { // uniform, or empty
		return uint64(len(t.idx))
	}
	return t.cum[len(t.cum)-1]
}

// start is the first point member i owns.
func (t *tier) start(i int) uint64 {
	switch {
	case t.cum == nil:
		return uint64(i)
	case i == 0:
		return 0
	}
	return t.cum[i-1]
}

// width is the number of points member i owns.
func (t *tier) width(i int) uint64 {
	if t.cum == nil {
		return 1
	}
	return t.cum[i] - t.start(i)
}

// owner is the member owning point x < total: the first whose cumulative
// weight is above x. The binary search has no data-dependent branch (x is
// random, so a branch would mispredict half the time): cumulative weights
// stay far below 2⁶³ (clamped weights), so x-c wraps, setting the top bit,
// exactly when c > x.
func (t *tier) owner(x uint64) int {
	if t.cum == nil {
		return int(x)
	}
	cum, base := t.cum, 0
	for n := len(cum); n > 1; {
		half := n >> 1
		above := int((x - cum[base+half-1]) >> 63) // 1 if cum > x, else 0
		base += half &^ -above
		n -= half
	}
	return base
}

// pick returns the candidate index of one member, drawn by weight. The
// only member of a tier of one is taken without a draw.
func (t *tier) pick(r Rand) int {
	if len(t.idx) == 1 {
		return t.idx[0]
	}
	return t.idx[t.owner(r.Uint64N(t.total()))]
}

// run is the points one member owns.
type run struct{ start, width uint64 }

// draw appends up to k distinct members of t, by weight without
// replacement: each draw is a uniform point on the line with the runs of
// the members already drawn cut out. It allocates nothing.
func (t *tier) draw(r Rand, dst []int, k int) []int {
	k = min(k, len(t.idx), MaxMulti)
	var cut [MaxMulti]run // runs of the members drawn so far, ascending
	left := t.total()     // points outside them
	for n := range k {
		var x uint64
		if n < len(t.idx)-1 { // the last member left needs no draw
			x = r.Uint64N(left)
		}
		i := t.owner(skip(cut[:n], x))
		c := run{t.start(i), t.width(i)}
		left -= c.width
		insert(cut[:n+1], c)
		dst = append(dst, t.idx[i])
	}
	return dst
}

// skip maps x, a count of points outside the cut runs (ascending), to its
// point on the full line: it steps over every run that starts at or
// before it.
func skip(cut []run, x uint64) uint64 {
	for _, c := range cut {
		if x < c.start {
			break
		}
		x += c.width
	}
	return x
}

// insert puts c into s, whose first len(s)-1 runs are ascending and apart
// from c, keeping it ascending.
func insert(s []run, c run) {
	j := len(s) - 1
	for ; j > 0 && s[j-1].start > c.start; j-- {
		s[j] = s[j-1]
	}
	s[j] = c
}
