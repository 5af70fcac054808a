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
		case l.expired && !now.Before(l.expireAt.time()):
			l.deleting = true
			toDelete = append(toDelete, reapItem{key: l.key, rev: l.rev})
		case l.expired:
			e.schedule(l, l.expireAt.time())
		case l.deadline.time().After(now):
			e.schedule(l, l.deadline.time()) // renewed since
		default:
			lapsing = append(lapsing, l)
		}
	}
	e.brakeStep(now, lapsing)
	return toDelete
}

// expireLocked takes the lapsed set l out of answers; it is deleted after
// LeaseGrace. Callers hold e.mu.
func (e *leases) expireLocked(l *lease, now time.Time) {
	l.expired, l.held = true, false
	l.beat.follow(l)
	l.expireAt = instantOf(now.Add(e.opts.LeaseGrace))
	e.schedule(l, l.expireAt.time())
	e.touch(l.key)
	e.metrics.leaseExpiries.Inc()
	e.noteLapse(l, now)
	e.log.Warn("lease lapsed; set left answers", "set", l.key.String(), "zone", l.key.Zone,
		"deadline", l.deadline.time(), "delete_at", l.expireAt.time())
}
