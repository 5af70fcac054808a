package registry

import (
	"context"
	"time"

	"github.com/dnslb/dnslb/internal/health"
	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/store"
	"github.com/dnslb/dnslb/internal/zone"
)

// Statuses returns the status of each set, in order. It reads what the
// units hold and creates nothing: a set deleted since it was listed gets
// the status of a set the server knows nothing about.
func (r *Registry) Statuses(sets []record.Set) []record.Status {
	now := r.now()
	out := make([]record.Status, len(sets))
	r.leases.mu.Lock()
	r.leases.applyQueuedLocked(now) // heartbeats received count, though no pass ran since
	r.checks.mu.Lock()
	for i := range sets {
		out[i] = r.statusOf(&sets[i], now)
	}
	r.checks.mu.Unlock()
	r.leases.mu.Unlock()
	served := make([]*zone.Served, len(sets))
	for i := range sets {
		if served[i] = r.pub.servedOf(sets[i].Key); served[i] != nil {
			if last := served[i].Last(); !last.IsZero() {
				out[i].LastServed = &last
			}
			out[i].Served = served[i].Count()
		}
	}
	r.shares(sets, served, out)
	return out
}

// shares fills in the share of each set under the rules now, from the
// snapshot DNS answers from, and its observed share of the last minute:
// its answers over those of its name's sets in answers now and of the
// listed ones out of them (draining, expired). served are the sets'
// answer counters, by index (nil: none).
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

// group is one name and type: the sets whose shares add up.
type group struct {
	zone, name string
	typ        record.Type
}

func groupOf(k record.Key) group { return group{k.Zone, k.Name, k.Type} }

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

// statusOf builds the Status of set but for its answer counts. Callers
// hold r.leases.mu and r.checks.mu.
func (r *Registry) statusOf(set *record.Set, now time.Time) record.Status {
	st := record.Status{State: "active", Eligible: r.eligible(set) && !r.gone(set)}
	if set.State == record.Draining {
		st.State = "draining"
	}
	var l *lease
	if set.Lease > 0 {
		l = r.leases.byKey[set.Key]
	}
	if l != nil {
		st.State = l.state()
		if set.State == record.Draining {
			st.State = "draining"
		}
		if d := l.deadline.time(); d.After(now) {
			st.LeaseRemaining, st.LeaseGrace = leaseLeft(d.Sub(now), l.ttl)
		}
		st.LapsePending = l.undecided || l.waiting
		if l.held {
			since, until := l.heldAt.time(), r.leases.brake.until
			st.Braked, st.BrakedSince, st.BrakedUntil = true, &since, &until
		}
	}
	st.Health, st.HealthSince, st.HealthError = r.healthOf(set, l)
	if set.Drain != nil {
		safe := r.drainSafeAt(set)
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

// healthOf is a set's health as shown. Callers hold r.checks.mu.
func (r *Registry) healthOf(set *record.Set, l *lease) (string, *time.Time, string) {
	rc := r.checks.byKey[set.Key]
	switch {
	case set.Force == record.ForceUp:
		return "up (forced)", nil, ""
	case set.Force == record.ForceDown:
		return "down (forced)", nil, ""
	case l != nil && l.reported == 0:
		return "down (agent)", nil, ""
	case set.Check != nil && r.checks.verdicts[set.Key].Observers > 0:
		return r.checks.verdicts[set.Key].String(), nil, ""
	case set.Check != nil && rc != nil && rc.health != health.Unknown:
		since := rc.since
		return rc.health.String(), &since, rc.lastErr
	case l != nil && l.reported == 1:
		return "up (agent)", nil, ""
	}
	return health.Unknown.String(), nil, ""
}

// Brake reports the mass-expiry brake.
func (r *Registry) Brake() record.BrakeStatus {
	st, _ := r.leases.brakeStatus(r.now(), false)
	return st
}

// BrakeOn reports the brake and true while it keeps lapsed leases in
// answers (holding or letting go); otherwise it returns at once, without
// counting the leases (for /readyz).
func (r *Registry) BrakeOn() (record.BrakeStatus, bool) { return r.leases.brakeStatus(r.now(), true) }

// ReleaseBrake releases the mass-expiry brake: every set it holds expires
// now, and it stays off until renewals return. It returns once answers
// follow.
func (r *Registry) ReleaseBrake(ctx context.Context) (record.BrakeStatus, error) {
	st := r.leases.release(r.now())
	return st, r.publishTouched(ctx)
}

// Force sets the operator override of set k's health: ForceUp, ForceDown
// or ForceAuto. It returns once answers follow it.
func (r *Registry) Force(ctx context.Context, k record.Key, f record.Force) error {
	key, err := r.resolveKey(k)
	if err != nil {
		return err
	}
	n := newNotes(ctx)
	rev, err := r.store.Update(ctx, func(tx store.Tx) error {
		n.reset()
		set, err := tx.Set(key)
		if err != nil {
			return missingSet(tx, key, err)
		}
		if set.Force == f {
			return nil
		}
		set.Force, set.Updated = f, r.now()
		if err := tx.PutSet(set); err != nil {
			return err
		}
		return n.note(tx, record.Transition{At: set.Updated, Key: key, Event: record.EventForced, Detail: forceText(f)})
	})
	if err != nil {
		return err
	}
	r.committed(ctx, n, rev)
	return r.waitPublished(ctx, rev)
}
