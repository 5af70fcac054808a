package registry

import (
	"context"
	"sync"
	"time"

	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/zone"
)

// The observed share of a set is its part of its group's answers over the
// last minute. The DNS path only counts answers (zone.Served, one atomic
// add); every observeEvery the observer reads those counters for every
// weighted set of the snapshot into a small ring, so a listing can take
// the difference with the count of a minute ago.
const (
	observeEvery = 10 * time.Second
	observeSlots = 7 // samples kept: six intervals, one minute
)

// observer keeps, per weighted set, its served counts at the last samples.
// sample owns the writing; readers take mu.
type observer struct {
	mu    sync.Mutex
	n     uint64 // samples taken
	rings map[group]map[record.Key]*ring
}

// ring is one set's served counts, by sample number modulo observeSlots.
type ring struct {
	served *zone.Served
	counts [observeSlots]uint64
	first  uint64 // the sample that made the ring
	last   uint64 // the last sample that found the set in answers
}

func newObserver() *observer { return &observer{rings: map[group]map[record.Key]*ring{}} }

// run samples snap() every observeEvery until ctx ends.
func (o *observer) run(ctx context.Context, snap func() *zone.Snapshot) {
	t := time.NewTicker(observeEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if s := snap(); s != nil {
				o.sample(s)
			}
		case <-ctx.Done():
			return
		}
	}
}

// sample records the served count of every weighted set in snap, and of
// the sets that left answers within the last minute (draining, lapsed:
// their answers of that minute still count); it forgets the others.
func (o *observer) sample(snap *zone.Snapshot) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.n++
	slot := o.n % observeSlots
	snap.EachGroup(func(sets []*zone.Set) {
		for _, s := range sets {
			o.ringOf(s).last = o.n
		}
	})
	for g, rings := range o.rings {
		for k, r := range rings {
			if o.n-r.last >= observeSlots {
				delete(rings, k)
				continue
			}
			r.counts[slot] = r.served.Count()
		}
		if len(rings) == 0 {
			delete(o.rings, g)
		}
	}
}

// ringOf returns the ring of s, making one for a set seen the first time
// (or a set made anew under the same key, with new counters). Callers
// hold o.mu.
func (o *observer) ringOf(s *zone.Set) *ring {
	g := groupOf(s.Key)
	rings := o.rings[g]
	if rings == nil {
		rings = map[record.Key]*ring{}
		o.rings[g] = rings
	}
	r := rings[s.Key]
	if r == nil || r.served != s.Served {
		r = &ring{served: s.Served, first: o.n}
		rings[s.Key] = r
	}
	return r
}

// lastMinute returns the answers of each set of group g in the last
// minute (since the sample six intervals ago; all answers for a set or a
// server younger than that). sets are the group's sets in answers now,
// for those too new to have a ring.
func (o *observer) lastMinute(g group, sets []*zone.Set) map[record.Key]uint64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := map[record.Key]uint64{}
	for k, r := range o.rings[g] {
		out[k] = r.served.Count() - o.baseline(r)
	}
	for _, s := range sets {
		if _, ok := out[s.Key]; !ok && s.Served != nil {
			out[s.Key] = s.Served.Count()
		}
	}
	return out
}

// baseline is r's count a minute ago, or 0 when r is younger. Callers hold
// o.mu.
func (o *observer) baseline(r *ring) uint64 {
	if o.n < observeSlots-1 {
		return 0
	}
	base := o.n - (observeSlots - 1)
	if r.first > base {
		return 0
	}
	return r.counts[base%observeSlots]
}
