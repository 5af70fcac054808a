package registry

import (
	"sync"
	"time"

	"github.com/dnslb/dnslb/internal/health"
	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/zone"
)

// live is what the registry knows about record sets beyond the store:
// lease deadlines, health, what was served. It is in memory on purpose:
// renewals and probe results change every few seconds and need no fsync;
// after a restart every lease gets a fresh grace window instead.
type live struct {
	mu    sync.Mutex
	sets  map[record.Key]*setLive
	gen   uint64              // advanced on every change that can change an answer
	due   due                 // leased sets by when the lifecycle must look at them
	dirty map[record.Key]bool // sets touched since the last snapshot
}

// setLive is the runtime state of one record set.
type setLive struct {
	// of the stored set, for renewals; known once the registry applied it
	known    bool
	lease    record.Duration
	draining bool

	deadline  time.Time // lease deadline; zero without a lease
	key       record.Key
	forgotten bool      // the set is gone; see Registry.forget
	sched     int64     // when the lifecycle looks at this set next, unix ns (0: not scheduled); see due
	expired   bool      // the lease lapsed and the set left answers
	expireAt  time.Time // when an expired set is deleted
	braked    bool      // the mass-expiry brake holds this lapsed set in answers
	health    health.Status
	since     time.Time  // of health
	lastErr   string     // last probe error while down
	reported  *bool      // health reported by the agent with its renewals
	beat      *beatEntry // heartbeat token and what the UDP path reads; nil until the first HTTP renewal
	served    *zone.Served
	check     *runningCheck
}

func newLive() *live {
	return &live{sets: map[record.Key]*setLive{}, dirty: map[record.Key]bool{}}
}

// get returns the entry of k, creating it. Callers hold l.mu.
func (l *live) get(k record.Key) *setLive {
	s := l.sets[k]
	if s == nil {
		s = &setLive{key: k, health: health.Unknown, served: new(zone.Served)}
		l.sets[k] = s
	}
	return s
}

// eligible implements the answer rule "active, lease alive, healthy" for
// set. Callers hold l.mu.
func (l *live) eligible(set *record.Set) bool {
	if set.State != record.Active {
		return false
	}
	s := l.sets[set.Key]
	if s == nil {
		return set.Force != record.ForceDown
	}
	switch set.Force {
	case record.ForceUp:
		return true
	case record.ForceDown:
		return false
	}
	if s.reported != nil && !*s.reported {
		return false
	}
	return set.Check == nil || s.health != health.Down
}

// gone reports a set whose lease lapsed (and no brake holds it): it is out
// of answers altogether, even when failing open. Callers hold l.mu.
func (l *live) gone(set *record.Set) bool {
	s := l.sets[set.Key]
	return set.Lease > 0 && s != nil && s.expired && !s.braked
}

// served returns the served counters of k for the snapshot builder.
// Callers hold l.mu.
func (l *live) servedOf(k record.Key) *zone.Served { return l.get(k).served }
