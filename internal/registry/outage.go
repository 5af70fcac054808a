package registry

import (
	"time"

	"github.com/dnslb/dnslb/internal/store"
)

// outagePass is how often the registry loop looks again while the store
// is unavailable: to keep leases held, and to notice that it is back.
const outagePass = time.Second

// storeDown returns why the store is unavailable (etcd cut off), or nil;
// stores that cannot be cut off (bbolt) are never down.
func (r *Registry) storeDown() error {
	if a, ok := r.store.(store.Availability); ok {
		return a.Unavailable()
	}
	return nil
}

// failStatic runs the lifecycle pass of a store outage: answers stay as
// they are (the last snapshot), no lease lapses and no lapsed set is
// deleted (renewals sent to other servers cannot reach this one while the
// store is away), and drains wait. Each pass holds every lease to at least
// now + its TTL + RestartGrace, so that when the store returns agents have
// a whole lease to renew in before anything lapses: no mass expiry on the
// way back either. It returns when to look again.
func (r *Registry) failStatic(now time.Time, cause error) time.Time {
	if !r.outage {
		r.outage = true
		r.log.Error("store unavailable: answering from the last state; lease expiry and drains paused", "err", cause)
	}
	r.leases.hold(now)
	r.reaper.add(r.leases.expire(now)) // applies queued renewals; nothing is due
	return now.Add(outagePass)
}

// hold keeps every lease from lapsing, and every lapsed set from being
// deleted, until at least now + its TTL + RestartGrace (LeaseGrace for
// lapsed sets). Sets the brake holds, drains and deletions in flight are
// left as they are.
func (e *leases) hold(now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, l := range e.byKey {
		switch {
		case l.deleting || l.draining || l.held:
		case l.expired:
			l.expireAt = max(l.expireAt, instantOf(now.Add(e.opts.LeaseGrace)))
		default:
			l.deadline = max(l.deadline, instantOf(now.Add(l.ttl+e.opts.RestartGrace)))
		}
	}
}
