package selector_test

import (
	"encoding/binary"
	"slices"
	"testing"

	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/selector"
)

// byteRand draws from fuzz bytes: eight at a time, modulo n; zero once
// they run out.
type byteRand struct {
	b  []byte
	ns []uint64
}

func (r *byteRand) Uint64N(n uint64) uint64 {
	r.ns = append(r.ns, n)
	var buf [8]byte
	k := copy(buf[:], r.b)
	r.b = r.b[k:]
	return binary.LittleEndian.Uint64(buf[:]) % n
}

// fuzzGroup reads a policy, a candidate count and two bytes per candidate
// (weight; flags: 1 eligible, 2 weight 0, 4 weight pushed out of 0..255),
// and returns what is left for draws.
func fuzzGroup(data []byte) (record.Policy, []selector.Candidate, []byte) {
	if len(data) < 2 {
		return record.Weighted, nil, nil
	}
	p := policies[int(data[0])%len(policies)]
	n := min(int(data[1]), (len(data)-2)/2)
	cs := make([]selector.Candidate, n)
	for i := range cs {
		w, f := int(data[2+2*i]), data[3+2*i]
		switch {
		case f&2 != 0:
			w = 0
		case f&4 != 0:
			w = w*4 - 512
		}
		cs[i] = selector.Candidate{Weight: w, Eligible: f&1 != 0}
	}
	return p, cs, data[2+2*n:]
}

// FuzzChoose checks a choice from any group and any draws: indices in
// range and distinct, the right count, the rules' tier respected, and the
// same answer and draws as the plain reference.
func FuzzChoose(f *testing.F) {
	f.Add([]byte{0, 2, 10, 1, 30, 1, 7, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{1, 3, 10, 0, 0, 0, 30, 0})
	f.Add([]byte{2, 12, 1, 1, 2, 1, 3, 0, 4, 3, 5, 1, 6, 1, 7, 1, 8, 1, 9, 1, 10, 5, 11, 1, 12, 1, 0xff, 0xfe})
	f.Add([]byte{2, 4, 0, 0, 0, 2, 9, 4, 200, 5, 1, 2, 3})
	f.Fuzz(func(t *testing.T, data []byte) {
		p, cs, draws := fuzzGroup(data)
		r, ref := &byteRand{b: draws}, &byteRand{b: draws}
		got := selector.NewGroup(p, cs).Choose(r, nil)
		checkInvariants(t, p, cs, got)
		if want := refChoose(p, cs, ref); !slices.Equal(got, want) || !slices.Equal(r.ns, ref.ns) {
			t.Fatalf("%s %v: chose %v drawing over %v; reference %v over %v", p, cs, got, r.ns, want, ref.ns)
		}
	})
}
