package registry

import (
	"context"
	"sync"
	"time"

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

// observer keeps, per weighted set (by its counters, which live as long as
// the set), its served counts at the last samples. sample owns the
// writing; readers take mu.
type observer struct {
	mu    sync.Mutex
	n     uint64 // samples taken
	rings map[*zone.Served]*ring
}

// ring is one set's served counts, by sample number modulo observeSlots.
type ring struct {
	counts [observeSlots]uint64
	first  uint64 // the sample that made the ring
	last   uint64 // the last sample that found the set in answers
}

func newObserver() *observer { return &observer{rings: map[*zone.Served]*ring{}} }

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
	snap.EachGroup(func(sets []*zone.Set) {
		for _, s := range sets {
			if s.Served == nil {
				continue
			}
			r := o.rings[s.Served]
			if r == nil {
				r = &ring{first: o.n}
				o.rings[s.Served] = r
			}
			r.last = o.n
		}
	})
	slot := o.n % observeSlots
	for served, r := range o.rings {
		if o.n-r.last >= observeSlots {
			delete(o.rings, served)
			continue
		}
		r.counts[slot] = served.Count()
	}
}

// lastMinute returns the answers that held the set counted by served in
// the last minute (since the sample six intervals ago; all of its answers
// when the set or the server is younger than that).
func (o *observer) lastMinute(served *zone.Served) uint64 {
	if served == nil {
		return 0
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	now := served.Count()
	r := o.rings[served]
	if r == nil || o.n < observeSlots-1 {
		return now
	}
	base := o.n - (observeSlots - 1)
	if r.first > base {
		return now
	}
	return now - r.counts[base%observeSlots]
}
