package registry

import (
	"math"
	"testing"
	"time"

	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/zone"
)

// TestTimelineBounded: the chart keeps timelinePoints points, a set that
// left answers has no point (null) where it was out, and a name not seen
// for an hour is forgotten.
func TestTimelineBounded(t *testing.T) {
	clock := newFakeClock()
	tl := newTimeline(clock.Now)
	r := &Registry{timeline: tl}
	z := record.Zone{Name: "lb.test."}
	set := func(id string) record.Set {
		return record.Set{Key: record.Key{Zone: "lb.test.", Name: "www.lb.test.", Type: record.A, SetID: id}, Weight: 10, TTL: 60, Values: []string{"127.0.1.1"}}
	}
	counts := map[string]uint64{"a": 30, "b": 10}
	served := map[record.Key]*zone.Served{}
	snap := func(ids ...string) *zone.Snapshot {
		var sets []record.Set
		for _, id := range ids {
			sets = append(sets, set(id))
		}
		return zone.Build(zone.Input{Zones: []record.Zone{z}, Sets: sets, Served: func(k record.Key) *zone.Served {
			if served[k] == nil {
				served[k] = new(zone.Served)
			}
			return served[k]
		}})
	}
	lastMinute := func(s *zone.Served) uint64 {
		for k, v := range served {
			if v == s {
				return counts[k.SetID]
			}
		}
		return 0
	}
	for range timelinePoints + 10 {
		clock.advance(time.Minute)
		tl.sample(snap("a", "b"), lastMinute)
	}
	clock.advance(time.Minute)
	tl.sample(snap("a"), lastMinute) // b drained
	tl.events([]record.Transition{{At: clock.Now(), Key: set("b").Key, Event: record.EventDrainStarted}})
	c := r.Chart(set("a").Key)
	a, b := c.Shares["a"], c.Shares["b"]
	if len(c.Times) != timelinePoints || len(a) != timelinePoints || len(b) != timelinePoints {
		t.Fatalf("%d times, %d and %d points; want %d", len(c.Times), len(a), len(b), timelinePoints)
	}
	if math.Abs(float64(*a[0])-0.75) > 0.005 || math.Abs(float64(*b[0])-0.25) > 0.005 || *a[timelinePoints-1] != 1 || b[timelinePoints-1] != nil || len(c.Events) != 1 {
		t.Errorf("first %v %v, last %v %v, events %v", *a[0], *b[0], *a[timelinePoints-1], b[timelinePoints-1], c.Events)
	}
	clock.advance(2 * time.Hour)
	tl.sample(snap(), lastMinute)
	if c := r.Chart(set("a").Key); len(c.Times) != 0 || len(tl.names) != 0 {
		t.Errorf("a name gone for two hours is kept: %+v", c)
	}
}
