package registry

import (
	"context"
	"fmt"
	"time"

	"github.com/dnslb/dnslb/internal/health"
	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/store"
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
	for i := range sets {
		if served := r.pub.servedOf(sets[i].Key); served != nil {
			if last := served.Last(); !last.IsZero() {
				out[i].LastServed = &last
			}
			out[i].Served = served.Count()
		}
	}
	return out
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
			st.LeaseRemaining = record.Duration(d.Sub(now).Round(time.Millisecond))
		}
		if l.held {
			since, until := l.heldAt.time(), r.leases.brake.until
			st.Braked, st.BrakedSince, st.BrakedUntil = true, &since, &until
		}
	}
	st.Health, st.HealthSince, st.HealthError = r.healthOf(set, l)
	if set.Drain != nil {
		safe := safeAt(set)
		st.SafeAt = &safe
	}
	return st
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
	return st, r.pub.waitGen(ctx, r.pub.touchNone())
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
			return fmt.Errorf("%s: %w", key, err)
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
