package registry

import (
	"context"
	"fmt"
	"time"

	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/store"
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
	rev, err := r.store.Update(ctx, func(tx store.Tx) error {
		set, err := tx.Set(key)
		if err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		if set.State == record.Draining {
			return nil
		}
		set.State, set.Updated = record.Draining, now
		set.Drain = &record.Drain{Started: now, Margin: record.Duration(margin), Keep: keep}
		return tx.PutSet(set)
	})
	if err != nil {
		return record.DrainStatus{}, err
	}
	if err := r.waitPublished(ctx, rev); err != nil {
		return record.DrainStatus{}, err
	}
	if err := r.recordLastServed(ctx, key); err != nil {
		return record.DrainStatus{}, err
	}
	return r.DrainStatus(ctx, key)
}

// recordLastServed stores when the set was last put in an answer, read once
// it can no longer be chosen, so that safe_at survives a restart.
func (r *Registry) recordLastServed(ctx context.Context, key record.Key) error {
	var last time.Time
	if served := r.pub.servedOf(key); served != nil {
		last = served.Last()
	}
	rev, err := r.store.Update(ctx, func(tx store.Tx) error {
		set, err := tx.Set(key)
		if err != nil || set.Drain == nil || set.Drain.LastServed != nil {
			return err
		}
		set.Drain.LastServed = &last
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
	return drainStatus(&set, r.now()), nil
}

func drainStatus(set *record.Set, now time.Time) record.DrainStatus {
	d := set.Drain
	st := record.DrainStatus{Key: set.Key, Started: d.Started, TTL: set.TTL, Margin: d.Margin, Keep: d.Keep}
	st.SafeAt = safeAt(set)
	if d.LastServed != nil && !d.LastServed.IsZero() {
		st.LastServed = d.LastServed
	}
	if rem := st.SafeAt.Sub(now); rem > 0 {
		st.Remaining = record.Duration(rem)
	}
	return st
}

// safeAt is when no client can still hold an answer with set: the last time
// it was served plus its TTL plus the margin; at once if it was never
// served; and never later than the drain's start plus TTL plus margin
// (also the answer while the last-served time is not yet recorded).
func safeAt(set *record.Set) time.Time {
	d := set.Drain
	hold := time.Duration(set.TTL)*time.Second + d.Margin.D()
	limit := d.Started.Add(hold)
	switch {
	case d.LastServed == nil:
		return limit
	case d.LastServed.IsZero():
		return d.Started
	case d.LastServed.Add(hold).Before(limit):
		return d.LastServed.Add(hold)
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
		if at := safeAt(&set); now.Before(at) {
			if next.IsZero() || at.Before(next) {
				next = at
			}
			continue
		}
		ready = append(ready, reapItem{key: k, rev: set.Revision, drain: true, keep: set.Drain.Keep})
	}
	r.metrics.drains.Set(float64(len(dr)))
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
