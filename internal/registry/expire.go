package registry

import (
	"time"

	"github.com/dnslb/dnslb/internal/record"
)

// reapItem is a set for the reaper: an expired set to delete, or a drain
// to finish. Only the version at rev is touched.
type reapItem struct {
	key   record.Key
	rev   int64
	drain bool // a finished drain: delete, or with keep return at weight 0
	keep  bool
}

// expire applies what is due at now: lapsed leases leave answers (unless
// the brake holds them), the brake steps, and expired sets whose grace
// period is over are returned for deletion. It runs on the registry loop
// and looks only at the leases that are due.
func (e *leases) expire(now time.Time) (toDelete []reapItem) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.applyQueuedLocked(now) // heartbeats first: a set renewed by one has not lapsed
	var lapsing []*lease
	for {
		l, ok := e.popDue(now)
		if !ok {
			break
		}
		switch {
		case l.held || l.deleting || l.draining:
			// the brake, the reaper, or the drain (which removes it) has it
		case e.cl.on && !e.cl.leading && (l.expired || !l.deadline.time().After(now)):
			e.undecided(l) // the cluster's decider, not this server, expires and deletes
		case l.expired && !now.Before(l.expireAt.time()):
			l.deleting = true
			toDelete = append(toDelete, reapItem{key: l.key, rev: l.rev})
		case l.expired:
			e.schedule(l, l.expireAt.time())
		case l.deadline.time().After(now):
			e.schedule(l, l.deadline.time()) // renewed since
		case e.cl.on:
			e.askPeers(l) // did another server hear it? (cluster.go)
		default:
			lapsing = append(lapsing, l)
		}
	}
	e.brakeStep(now, lapsing)
	return toDelete
}

// expireLocked takes the lapsed set l out of answers; it is deleted after
// LeaseGrace. In a cluster it writes the lapse instead, and every server
// takes the set out of answers from the watch (cluster.go). Callers hold
// e.mu.
func (e *leases) expireLocked(l *lease, now time.Time) {
	if e.cl.on {
		e.markLapsed(l, now)
		return
	}
	e.lapseLocked(l, now, true)
}

// lapseLocked takes l out of answers, lapsed at at, noting it in the
// history when note. Callers hold e.mu.
func (e *leases) lapseLocked(l *lease, at time.Time, note bool) {
	l.expired, l.held = true, false
	l.beat.follow(l)
	l.expireAt = instantOf(at.Add(e.opts.LeaseGrace))
	e.schedule(l, l.expireAt.time())
	e.touch(l.key)
	e.metrics.leaseExpiries.Inc()
	if note {
		e.noteLapse(l, at)
	}
	e.log.Warn("lease lapsed; set left answers", "set", l.key.String(), "zone", l.key.Zone,
		"deadline", l.deadline.time(), "delete_at", l.expireAt.time())
}
