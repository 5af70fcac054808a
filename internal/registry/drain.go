package registry

import (
	"context"
	"errors"
	"time"

	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/store"
	"github.com/dnslb/dnslb/internal/zone"
)

// Drain takes set k out of new answers at once and schedules its removal
// (or, with keep, its return at weight 0) for when no client can still
// hold it. margin < 0 means the server's default. Draining a set that is
// draining already reports on that drain.
func (r *Registry) Drain(ctx context.Context, k record.Key, margin time.Duration, keep bool) (record.DrainStatus, error) {
	if margin < 0 {
		margin = r.opts.DrainMargin
	}
	key, err := r.resolveKey(k)
	if err != nil {
		return record.DrainStatus{}, err
	}
	now := r.now()
	heldTTL := r.heldTTL(key, now)
	n := newNotes(ctx)
	rev, err := r.store.Update(ctx, func(tx store.Tx) error {
		n.reset()
		set, err := tx.Set(key)
		if err != nil {
			return missingSet(tx, key, err)
		}
		if set.State == record.Draining {
			return nil
		}
		set.State, set.Updated = record.Draining, now
		set.Drain = &record.Drain{Started: now, Margin: record.Duration(margin), Keep: keep, ServedTTL: heldTTL}
		if err := tx.PutSet(set); err != nil {
			return err
		}
		return n.note(tx, drainTransition(set, safeAt(&set)))
	})
	if err != nil {
		return record.DrainStatus{}, err
	}
	r.committed(ctx, n, rev)
	if err := r.waitPublished(ctx, rev); err != nil {
		return record.DrainStatus{}, err
	}
	if err := r.recordLastServed(ctx, key); err != nil {
		return finishedIfGone(key, now, margin, keep, err)
	}
	st, err := r.DrainStatus(ctx, key)
	if err != nil {
		return finishedIfGone(key, now, margin, keep, err)
	}
	return st, nil
}

// finishedIfGone is the answer of a drain whose set is gone by the time
// the drain reads it back: a set never served is safe at once, and the
// reaper may remove it between the drain's own steps. That drain is done,
// not "not found" (which told an agent there was nothing to drain). Other
// errors are returned as they are.
func finishedIfGone(key record.Key, started time.Time, margin time.Duration, keep bool, err error) (record.DrainStatus, error) {
	if !errors.Is(err, store.ErrNotFound) {
		return record.DrainStatus{}, err
	}
	return record.DrainStatus{Key: key, Started: started, SafeAt: started, Margin: record.Duration(margin), Keep: keep, Done: true}, nil
}

// servedOf returns the served counters of key, empty ones if the registry
// has none (it creates no state for a set it does not know).
func (r *Registry) servedOf(key record.Key) *zone.Served {
	if s := r.pub.servedOf(key); s != nil {
		return s
	}
	return new(zone.Served)
}

// heldTTL is the TTL of the answer with key that resolvers may hold the
// longest, if one may still be held at now; else 0. A drain starts with it
// so that its bound (see safeAt) is safe before recordLastServed runs,
// even if the group's TTL was lowered since that answer.
func (r *Registry) heldTTL(key record.Key, now time.Time) uint32 {
	if until, ttl := r.servedOf(key).Held(); until.After(now) {
		return servedTTL(until, ttl, now)
	}
	return 0
}

// servedTTL is the TTL of an answer held until until, at least as long as
// from there to until (Held's TTL can be another answer's, see
// zone.Served.hold), so that a drain started at from may wait for it.
func servedTTL(until time.Time, ttl uint32, from time.Time) uint32 {
	left := until.Sub(from)
	if s := uint32((left + time.Second - 1) / time.Second); left > 0 && s > ttl {
		return s
	}
	return ttl
}

// recordLastServed stores when the set was last put in an answer and until
// when an answer served may be held, read once it can no longer be chosen,
// so that safe_at survives a restart.
func (r *Registry) recordLastServed(ctx context.Context, key record.Key) error {
	served := r.servedOf(key)
	last := served.Last()
	held, ttl := served.Held()
	rev, err := r.store.Update(ctx, func(tx store.Tx) error {
		set, err := tx.Set(key)
		if err != nil || set.Drain == nil || set.Drain.LastServed != nil {
			return err
		}
		set.Drain.LastServed = &last
		if !held.IsZero() {
			set.Drain.HeldUntil, set.Drain.ServedTTL = &held, servedTTL(held, ttl, set.Drain.Started)
		}
		return tx.PutSet(set)
	})
	if err != nil {
		return err
	}
	return r.waitPublished(ctx, rev)
}

// DrainStatus reports on the drain of set k. A drained set that was deleted
// gives store.ErrNotFound.
func (r *Registry) DrainStatus(ctx context.Context, k record.Key) (record.DrainStatus, error) {
	set, err := r.lookup(ctx, k)
	if err != nil {
		return record.DrainStatus{}, err
	}
	if set.Drain == nil {
		return record.DrainStatus{Key: set.Key, TTL: set.TTL, Done: set.State == record.Active}, nil
	}
	st := drainStatus(&set, r.now())
	if r.opts.Served != nil {
		st.SafeAt, st.Remaining = r.drainSafeAt(&set), 0
		if rem := st.SafeAt.Sub(r.now()); rem > 0 {
			st.Remaining = record.Duration(rem)
		}
	}
	return st, nil
}

// earliest is the earlier of a and b, a zero time being none.
func earliest(a, b time.Time) time.Time {
	if a.IsZero() || !b.IsZero() && b.Before(a) {
		return b
	}
	return a
}

func drainStatus(set *record.Set, now time.Time) record.DrainStatus {
	d := set.Drain
	st := record.DrainStatus{Key: set.Key, Started: d.Started, TTL: set.TTL, ServedTTL: d.ServedTTL, Margin: d.Margin, Keep: d.Keep}
	st.SafeAt = safeAt(set)
	if d.LastServed != nil && !d.LastServed.IsZero() {
		st.LastServed = d.LastServed
	}
	if rem := st.SafeAt.Sub(now); rem > 0 {
		st.Remaining = record.Duration(rem)
	}
	return st
}

// safeAt is when no client can still hold an answer with set: until when
// the answers served may be held (the largest served_at + served TTL) plus
// the margin; at once if it was never served (nor may have been before a
// restart, see zone.Served.Assume); and never later than the
// drain's start plus the larger of the served and configured TTL plus the
// margin (also the answer while what was served is not yet recorded). The
// served TTL, not the configured one, is what resolvers hold: the group's
// TTL may have been lowered since.
func safeAt(set *record.Set) time.Time {
	d := set.Drain
	ttl := time.Duration(max(set.TTL, d.ServedTTL)) * time.Second
	limit := d.Started.Add(ttl + d.Margin.D())
	var held time.Time
	switch {
	case d.LastServed == nil:
		return limit
	case d.HeldUntil != nil:
		held = *d.HeldUntil
	case d.LastServed.IsZero():
		return d.Started
	default: // recorded before HeldUntil existed
		held = d.LastServed.Add(time.Duration(set.TTL) * time.Second)
	}
	if safe := held.Add(d.Margin.D()); safe.Before(limit) {
		return safe
	}
	return limit
}

// finishDrains hands the drains whose safe_at has passed to the reaper,
// and returns when the next one is due (zero: none). It runs on the
// registry loop.
func (r *Registry) finishDrains(dr drains, now time.Time) (next time.Time) {
	var ready []reapItem
	for k, set := range dr {
		if r.reaper.busy(k) {
			continue
		}
		at := safeAt(&set)
		if r.opts.Served != nil { // a cluster: cluster_drain.go
			var later time.Time
			if at, later = r.clusterDrain(&set, now); at.IsZero() {
				next = earliest(next, later)
				continue
			}
		}
		if now.Before(at) {
			next = earliest(next, at)
			continue
		}
		ready = append(ready, reapItem{key: k, rev: set.Revision, drain: true, keep: set.Drain.Keep})
	}
	r.metrics.drains.Set(float64(len(dr)))
	r.forgetReports(dr)
	r.reaper.add(ready)
	return next
}

// drainDone records a drain the reaper finished.
func (r *Registry) drainDone(it reapItem) {
	if !it.keep {
		r.forget(it.key) // at once, not when the watch brings the deletion: see forget
	}
	r.log.Info("drain complete", "set", it.key.String(), "zone", it.key.Zone, "kept_at_weight_0", it.keep)
	r.metrics.drainsDone.Inc()
}

// deleteKeepingName deletes set; when it was the last set of its name, the
// name stays known to its zone so that it answers NODATA (with the zone's
// short negative TTL) rather than NXDOMAIN until an instance returns.
func (r *Registry) deleteKeepingName(tx store.Tx, set record.Set) error {
	if err := tx.DeleteSet(set.Key); err != nil {
		return err
	}
	z, err := tx.Zone(set.Zone)
	if err != nil {
		return err
	}
	if _, ok := z.Policies[set.Name]; ok {
		return nil
	}
	return setPolicy(tx, &z, set.Name, z.Policy(set.Name), true)
}
