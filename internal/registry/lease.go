package registry

import (
	"context"
	"errors"
	"time"

	"github.com/dnslb/dnslb/internal/heartbeat"
	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/store"
)

// Renew extends the lease of the set k (name may be relative) by its
// lease TTL. healthy, when not nil, is the instance's own check result:
// false takes the set out of answers until a renewal says true. Renewals are
// kept in memory, not written to the store, and read the set's lease from
// memory too: 10,000 agents renewing every 5 s is 2,000 calls a second. A
// set the server does not know gives store.ErrNotFound: the agent should
// register again.
func (r *Registry) Renew(ctx context.Context, k record.Key, healthy *bool) (record.LeaseStatus, error) {
	key, err := r.resolveKey(k)
	if err != nil {
		return record.LeaseStatus{}, err
	}
	r.live.mu.Lock()
	s := r.live.sets[key]
	known := s != nil && s.known
	var lease record.Duration
	var draining bool
	if known {
		lease, draining = s.lease, s.draining
	}
	r.live.mu.Unlock()
	if !known { // not (yet) applied from the store: ask the store itself
		set, err := r.lookup(ctx, key)
		if err != nil {
			return record.LeaseStatus{}, err
		}
		lease, draining = set.Lease, set.State == record.Draining
	}
	if lease <= 0 {
		return record.LeaseStatus{}, record.Errorf("lease", "%s has no lease; set one when registering (e.g. --lease 15s)", key)
	}
	r.live.mu.Lock()
	s = r.live.get(key)
	token := r.beats.issue(s)
	changed := r.renewLocked(key, s, lease, healthy)
	gen := r.live.gen
	st := record.LeaseStatus{Key: key, Lease: lease, Remaining: lease, State: leaseState(draining, lease, s),
		Heartbeat: &record.Heartbeat{Token: heartbeat.Token(token).String()}}
	r.live.mu.Unlock()
	if changed {
		return st, r.publishLive(ctx, gen)
	}
	return st, nil
}

// renewLocked moves the deadline of s (the set k) a lease ahead and records
// the reported health; changed says whether answers may change. Callers
// hold r.live.mu.
func (r *Registry) renewLocked(k record.Key, s *setLive, lease record.Duration, healthy *bool) (changed bool) {
	changed = s.expired || (healthy != nil && (s.reported == nil || *s.reported != *healthy))
	s.deadline, s.expired, s.braked = r.now().Add(lease.D()), false, false
	r.live.schedule(s, s.deadline) // a lapsed set was due only at its deletion
	if healthy != nil && (s.reported == nil || *s.reported != *healthy) {
		v := *healthy
		s.reported = &v
		r.reports.note(k, v) // written to the store off this lock: see reports
	}
	if changed {
		r.live.touch(k)
		s.beat.follow(s)
	}
	return changed
}

// lookup reads the set with key k from the store, resolving its name.
func (r *Registry) lookup(ctx context.Context, k record.Key) (record.Set, error) {
	key, err := r.resolveKey(k)
	if err != nil {
		return record.Set{}, err
	}
	var set record.Set
	_, err = r.store.View(ctx, func(tx store.ReadTx) (err error) {
		set, err = tx.Set(key)
		if err != nil {
			return missingSet(tx, key, err)
		}
		return nil
	})
	return set, err
}

// resolveKey validates k as given by a client and makes it canonical.
func (r *Registry) resolveKey(k record.Key) (record.Key, error) {
	zone, err := record.ZoneName("zone", k.Zone)
	if err != nil {
		return k, err
	}
	name, err := record.Canonical("name", k.Name, zone)
	if err != nil {
		return k, err
	}
	typ, err := record.ParseType("type", string(k.Type))
	if err != nil {
		return k, err
	}
	return record.Key{Zone: zone, Name: name, Type: typ, SetID: k.SetID}, nil
}

// group is the leased sets of one name and type, for the brake.
type group struct {
	zone, name string
	typ        record.Type
}

func groupOf(k record.Key) group { return group{k.Zone, k.Name, k.Type} }

// expireLeases takes lapsed sets out of answers, unless the mass-expiry
// brake holds their name, and returns the sets whose grace period is over
// and which are to be deleted. It runs on the registry loop, every tick,
// and looks only at the sets that are due (see due).
func (r *Registry) expireLeases(st *state, now time.Time) (toDelete []record.Set) {
	r.live.mu.Lock()
	defer r.live.mu.Unlock()
	var lapsed map[group][]record.Key
	for {
		s, ok := r.live.popDue(now)
		if !ok {
			break
		}
		switch {
		case !s.known || s.lease <= 0:
			// no lease any more: nothing to schedule
		case s.expired && !now.Before(s.expireAt):
			if set, ok := st.sets[s.key]; ok {
				toDelete = append(toDelete, set)
			}
			r.live.schedule(s, now.Add(time.Nanosecond)) // again next tick, unless deleted
		case s.expired:
			r.live.schedule(s, s.expireAt)
		case s.deadline.After(now):
			r.live.schedule(s, s.deadline) // renewed since
		default:
			if lapsed == nil {
				lapsed = map[group][]record.Key{}
			}
			g := groupOf(s.key)
			lapsed[g] = append(lapsed[g], s.key)
		}
	}
	for g, keys := range lapsed {
		r.expireGroup(g, st.leased[g], keys, now)
	}
	for g := range r.brakes { // renewals came back
		if _, ok := lapsed[g]; !ok {
			r.setBrake(g, false, 0, len(st.leased[g]))
		}
	}
	return toDelete
}

// expireGroup applies the lapses of keys, sets of group g whose leased
// sets are members. The brake holds them (and they are looked at again
// next tick) when too many of g would lapse within a third of a lease.
// Callers hold r.live.mu.
func (r *Registry) expireGroup(g group, members map[record.Key]*setLive, keys []record.Key, now time.Time) {
	atRisk := 0
	for k, s := range members {
		if s == nil { // the entry lives as long as the set: look it up once
			s = r.live.get(k)
			members[k] = s
		}
		if !s.expired && !s.deadline.IsZero() && !s.deadline.After(now.Add(s.lease.D()/3)) {
			atRisk++
		}
	}
	braked := atRisk >= r.opts.BrakeMin && float64(atRisk) > r.opts.BrakeShare*float64(len(members))
	r.setBrake(g, braked, atRisk, len(members))
	for _, k := range keys {
		s := r.live.sets[k]
		if braked {
			s.braked = true
			r.live.schedule(s, now.Add(time.Nanosecond)) // next tick
			continue
		}
		s.expired, s.braked = true, false
		s.beat.follow(s)
		s.expireAt = now.Add(r.opts.LeaseGrace)
		r.live.schedule(s, s.expireAt)
		r.live.touch(k)
		r.metrics.leaseExpiries.Inc()
		r.log.Warn("lease lapsed; set left answers", "set", k.String(), "zone", k.Zone,
			"deadline", s.deadline, "delete_at", s.expireAt)
	}
}

// setBrake records and reports the brake state of a group. Callers hold
// r.live.mu.
func (r *Registry) setBrake(g group, on bool, atRisk, total int) {
	was := r.brakes[g]
	if on == was {
		return
	}
	if on {
		r.brakes[g] = true
		r.log.Warn("mass-expiry brake engaged: too many leases of one name lapsing together; expiry paused",
			"zone", g.zone, "name", g.name, "type", g.typ, "lapsing", atRisk, "leased", total)
		r.metrics.brake.WithLabelValues(g.zone, g.name, string(g.typ)).Set(1)
		return
	}
	delete(r.brakes, g)
	r.log.Info("mass-expiry brake released", "zone", g.zone, "name", g.name, "type", g.typ)
	r.metrics.brake.WithLabelValues(g.zone, g.name, string(g.typ)).Set(0)
}

// deleteExpired removes sets whose lease lapsed more than the grace period
// ago, unless they changed (were registered again) in the meantime.
func (r *Registry) deleteExpired(ctx context.Context, sets []record.Set) {
	for _, set := range sets {
		deleted := false
		_, err := r.store.Update(ctx, func(tx store.Tx) error {
			cur, err := tx.Set(set.Key)
			if err != nil || cur.Revision != set.Revision {
				return err
			}
			deleted = true
			return r.deleteKeepingName(tx, cur)
		})
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			r.log.Error("deleting an expired set failed; will retry", "set", set.Key.String(), "err", err)
			continue
		}
		if err != nil || !deleted {
			continue // gone already, or registered again meanwhile
		}
		r.forget(set.Key) // at once, not when the watch brings the deletion: see forget
		r.log.Info("expired set deleted", "set", set.Key.String(), "zone", set.Zone)
		r.metrics.leaseDeletes.Inc()
	}
}
