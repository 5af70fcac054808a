package registry

import (
	"context"
	"time"

	"github.com/dnslb/dnslb/internal/health"
	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/store"
	"github.com/dnslb/dnslb/internal/zone"
)

// Statuses returns the status of each set, in order.
func (r *Registry) Statuses(sets []record.Set) []record.Status {
	now := r.now()
	out := make([]record.Status, len(sets))
	served := make([]*zone.Served, len(sets))
	r.live.mu.Lock()
	for i := range sets {
		out[i] = r.statusOf(&sets[i], now)
		if s := r.live.sets[sets[i].Key]; s != nil {
			served[i] = s.served
		}
	}
	r.live.mu.Unlock()
	r.shares(sets, served, out)
	return out
}

// shares fills in the share of each set under the rules now, from the
// snapshot DNS answers from, and its observed share of the last minute:
// its answers over those of its name's sets in answers now and of the
// listed ones out of them (draining, expired). served are the sets'
// answer counters, by index.
func (r *Registry) shares(sets []record.Set, served []*zone.Served, out []record.Status) {
	snap := r.Load()
	if snap == nil {
		return
	}
	groups := map[group]*groupShares{}
	for i := range sets {
		g := groupOf(sets[i].Key)
		if groups[g] == nil {
			groups[g] = r.groupShares(snap, sets[i].Key)
		}
		gs := groups[g]
		if _, in := gs.now[sets[i].Key]; !in {
			gs.total += r.observed.lastMinute(served[i]) // answered in the minute before it left
		}
	}
	for i := range sets {
		gs, st := groups[groupOf(sets[i].Key)], &out[i]
		st.Share = gs.now[sets[i].Key]
		st.FailOpen = gs.failOpen && st.Share > 0
		st.ServedLastMinute = r.observed.lastMinute(served[i])
		if gs.total > 0 {
			observed := float64(st.ServedLastMinute) / float64(gs.total)
			st.ObservedShare = &observed
		}
	}
}

// groupShares are the shares of the sets of one name and type.
type groupShares struct {
	now      map[record.Key]float64 // of the sets in answers, under the rules now
	failOpen bool
	total    uint64 // answers in the last minute
}

// groupShares reads the group of k's name and type from snap.
func (r *Registry) groupShares(snap *zone.Snapshot, k record.Key) *groupShares {
	zg, _ := snap.Group(k)
	gs := &groupShares{now: make(map[record.Key]float64, len(zg.Sets)), failOpen: zg.FailOpen}
	for j, s := range zg.Sets {
		gs.now[s.Key] = zg.Shares[j]
		gs.total += r.observed.lastMinute(s.Served)
	}
	return gs
}

// statusOf builds the Status of set. Callers hold r.live.mu.
func (r *Registry) statusOf(set *record.Set, now time.Time) record.Status {
	s := r.live.get(set.Key)
	st := record.Status{State: leaseState(set.State == record.Draining, set.Lease, s), Eligible: r.live.eligible(set) && !r.live.gone(set), Braked: s.braked}
	st.Health, st.HealthSince, st.HealthError = healthOf(set, s)
	if set.Lease > 0 && !s.deadline.IsZero() && s.deadline.After(now) {
		st.LeaseRemaining, st.LeaseGrace = leaseLeft(s.deadline.Sub(now), set.Lease.D())
	}
	if last := s.served.Last(); !last.IsZero() {
		st.LastServed = &last
	}
	st.Served = s.served.Count()
	if set.Drain != nil {
		safe := safeAt(set)
		st.SafeAt = &safe
	}
	return st
}

// leaseLeft splits the time left until a lease's deadline into what is
// left of the lease itself (never more than the lease) and the restart
// grace beyond it: after a restart every deadline is a lease plus the
// restart grace away, and "29s left of a 15s lease" reads as a bug.
func leaseLeft(left, lease time.Duration) (remaining, grace record.Duration) {
	left = left.Round(time.Millisecond)
	if left > lease {
		return record.Duration(lease), record.Duration(left - lease)
	}
	return record.Duration(left), 0
}

// leaseState is a set's state: active, draining or expired. Callers hold
// r.live.mu.
func leaseState(draining bool, lease record.Duration, s *setLive) string {
	switch {
	case draining:
		return "draining"
	case lease > 0 && s.expired:
		return "expired"
	}
	return "active"
}

func healthOf(set *record.Set, s *setLive) (string, *time.Time, string) {
	switch {
	case set.Force == record.ForceUp:
		return "up (forced)", nil, ""
	case set.Force == record.ForceDown:
		return "down (forced)", nil, ""
	case s.reported != nil && !*s.reported:
		return "down (agent)", nil, ""
	case set.Check != nil && s.health != health.Unknown:
		since := s.since
		return s.health.String(), &since, s.lastErr
	case s.reported != nil:
		return "up (agent)", nil, ""
	}
	return health.Unknown.String(), nil, ""
}

// Force sets the operator override of set k's health: ForceUp, ForceDown
// or ForceAuto. It returns once answers follow it.
func (r *Registry) Force(ctx context.Context, k record.Key, f record.Force) error {
	key, err := r.resolveKey(k)
	if err != nil {
		return err
	}
	rev, err := r.store.Update(ctx, func(tx store.Tx) error {
		set, err := tx.Set(key)
		if err != nil {
			return missingSet(tx, key, err)
		}
		if set.Force == f {
			return nil
		}
		set.Force, set.Updated = f, r.now()
		return tx.PutSet(set)
	})
	if err != nil {
		return err
	}
	return r.waitPublished(ctx, rev)
}
