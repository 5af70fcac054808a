package registry

import (
	"context"
	"sync"
	"time"

	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/zone"
)

// The timeline is what the status page charts per name: each set's
// observed share, one point a minute, and the name's transitions, over
// the last hour. It is kept in memory only, and bounded: timelinePoints
// points per set, timelineEvents transitions per name, and a name or a
// set is forgotten an hour after it was last seen in answers.
const (
	timelineEvery  = time.Minute
	timelinePoints = 60
	timelineEvents = 64
	timelineSpan   = time.Hour
)

// point is an observed share in steps of 1/pointMax, one byte a point
// (100,000 sets cost 6 MB for an hour), or noPoint.
type point uint8

const (
	pointMax = 254
	noPoint  = point(255) // not in answers at that point
)

// timeline is owned by its mu; sample and events write, Chart reads.
type timeline struct {
	mu    sync.Mutex
	now   func() time.Time
	names map[group]*nameLine
}

// nameLine is the timeline of one name and type.
type nameLine struct {
	times  []time.Time         // of the points, oldest first, at most timelinePoints
	shares map[string][]point  // by set id, aligned with the end of times
	events []record.Transition // oldest first, at most timelineEvents
	seen   time.Time           // last sampled in answers
}

func newTimeline(now func() time.Time) *timeline {
	return &timeline{now: now, names: map[group]*nameLine{}}
}

// run samples every every (Options.TimelineEvery) until ctx ends.
func (tl *timeline) run(ctx context.Context, every time.Duration, snap func() *zone.Snapshot, lastMinute func(*zone.Served) uint64) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if s := snap(); s != nil {
				tl.sample(s, lastMinute)
			}
		case <-ctx.Done():
			return
		}
	}
}

// sample adds a point to every name in snap: the observed share of the
// last minute of each of its sets.
func (tl *timeline) sample(snap *zone.Snapshot, lastMinute func(*zone.Served) uint64) {
	now := tl.now()
	tl.mu.Lock()
	defer tl.mu.Unlock()
	snap.EachGroup(func(sets []*zone.Set) {
		counts, total := make([]uint64, len(sets)), uint64(0)
		for i, s := range sets {
			counts[i] = lastMinute(s.Served)
			total += counts[i]
		}
		nl := tl.line(groupOf(sets[0].Key))
		nl.seen = now
		nl.times = appendBounded(nl.times, now)
		seen := make(map[string]bool, len(sets))
		for i, s := range sets {
			share := point(0)
			if total > 0 {
				share = point(counts[i] * pointMax / total)
			}
			nl.shares[s.Key.SetID] = tl.pad(nl, nl.shares[s.Key.SetID], share)
			seen[s.Key.SetID] = true
		}
		for id, series := range nl.shares { // sets out of answers now: no point
			if !seen[id] {
				nl.shares[id] = tl.pad(nl, series, noPoint)
			}
		}
	})
	tl.forget(now)
}

// pad appends v to a set's series, first filling with noPoint the points it
// missed, and keeps it as long as nl.times.
func (tl *timeline) pad(nl *nameLine, series []point, v point) []point {
	for len(series) < len(nl.times)-1 {
		series = append(series, noPoint)
	}
	series = append(series, v)
	return series[max(0, len(series)-len(nl.times)):]
}

// forget drops names not seen for timelineSpan and the series of sets
// out of answers at every point kept. Callers hold mu.
func (tl *timeline) forget(now time.Time) {
	for g, nl := range tl.names {
		if now.Sub(nl.seen) > timelineSpan {
			delete(tl.names, g)
			continue
		}
		for id, s := range nl.shares {
			if allMissing(s) {
				delete(nl.shares, id)
			}
		}
	}
}

func allMissing(s []point) bool {
	for _, v := range s {
		if v != noPoint {
			return false
		}
	}
	return true
}

func appendBounded[T any](s []T, v T) []T {
	s = append(s, v)
	if len(s) > timelinePoints {
		s = s[len(s)-timelinePoints:]
	}
	return s
}

// line returns the timeline of g, made if needed. Callers hold mu.
func (tl *timeline) line(g group) *nameLine {
	nl := tl.names[g]
	if nl == nil {
		nl = &nameLine{shares: map[string][]point{}, seen: tl.now()}
		tl.names[g] = nl
	}
	return nl
}

// events adds transitions to the timelines of their names.
func (tl *timeline) events(trs []record.Transition) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	for _, tr := range trs {
		nl := tl.line(groupOf(tr.Key))
		nl.events = append(nl.events, tr)
		if len(nl.events) > timelineEvents {
			nl.events = nl.events[len(nl.events)-timelineEvents:]
		}
	}
}

// Chart returns the timeline of the name and type of k over the last
// hour.
func (r *Registry) Chart(k record.Key) record.Chart {
	tl := r.timeline
	now := tl.now()
	tl.mu.Lock()
	defer tl.mu.Unlock()
	c := record.Chart{Shares: map[string][]*float32{}}
	nl := tl.names[groupOf(k)]
	if nl == nil {
		return c
	}
	c.Times = append(c.Times, nl.times...)
	for id, s := range nl.shares {
		out := make([]*float32, len(nl.times))
		off := len(nl.times) - len(s)
		for i, v := range s {
			if v != noPoint {
				f := float32(v) / pointMax
				out[off+i] = &f
			}
		}
		c.Shares[id] = out
	}
	for _, e := range nl.events {
		if now.Sub(e.At) <= timelineSpan {
			c.Events = append(c.Events, e)
		}
	}
	return c
}
