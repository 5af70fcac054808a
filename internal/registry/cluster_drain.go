package registry

import (
	"time"

	"github.com/dnslb/dnslb/internal/record"
)

// Drains in a cluster. A draining set is safe to remove once no answer
// any server gave can still be held. Each server, once its answers no
// longer carry the drained set, reports until when the answers it gave
// may be held (Served.Report; its last answer plus the TTL it served),
// and the leader alone finishes the drain: at the latest of those plus
// the margin, once every live server reported, and never later than the
// drain's own bound (safeAt's limit). DrainStatus tells the same safe_at.

// Served shares, in a cluster, how long each server's answers with a
// draining set may be held (package cluster).
type Served interface {
	// Report publishes until when this server's answers with set k may be
	// held (zero: it never served k), for the drain started at started.
	// It must not block.
	Report(k record.Key, started, heldUntil time.Time)
	// Held returns the latest of the live servers' reports for that drain,
	// and whether every live server has reported.
	Held(k record.Key, started time.Time) (until time.Time, all bool)
	// Forget retracts this server's report on k (the set is gone).
	Forget(k record.Key)
}

// drainRecheck is how often a drain that waits for servers' reports is
// looked at again.
const drainRecheck = time.Second

// clusterDrain applies the cluster's rule to the drain of set at now:
// it reports this server's answers once its snapshot no longer carries
// the set, and says when the drain is safe (zero: not decided here, or
// not yet known; look again at next).
func (r *Registry) clusterDrain(set *record.Set, now time.Time) (safe, next time.Time) {
	d := set.Drain
	if !r.drainReported[set.Key].Equal(d.Started) {
		if r.Applied() < set.Revision {
			return time.Time{}, now.Add(passGap) // answers may still carry it
		}
		held, _ := r.servedOf(set.Key).Held()
		r.opts.Served.Report(set.Key, d.Started, held)
		r.drainReported[set.Key] = d.Started
	}
	if !r.Leading() {
		return time.Time{}, time.Time{}
	}
	until, all := r.opts.Served.Held(set.Key, d.Started)
	if !all {
		return time.Time{}, now.Add(drainRecheck)
	}
	return clusterSafeAt(set, until), time.Time{}
}

// clusterSafeAt is safeAt with held, the latest any server's answers may
// be held: at once when no server served the set, never later than the
// drain's bound.
func clusterSafeAt(set *record.Set, held time.Time) time.Time {
	d := set.Drain
	limit := d.Started.Add(time.Duration(max(set.TTL, d.ServedTTL))*time.Second + d.Margin.D())
	if held.IsZero() {
		return d.Started
	}
	safe := held.Add(d.Margin.D())
	if safe.After(limit) {
		return limit
	}
	return safe
}

// drainSafeAt is when the drain of set is safe as this server knows it:
// the cluster's word when it has every live server's report, the drain's
// bound while it waits for them, and on a single server safeAt.
func (r *Registry) drainSafeAt(set *record.Set) time.Time {
	if r.opts.Served == nil {
		return safeAt(set)
	}
	until, all := r.opts.Served.Held(set.Key, set.Drain.Started)
	if !all {
		d := set.Drain
		return d.Started.Add(time.Duration(max(set.TTL, d.ServedTTL))*time.Second + d.Margin.D())
	}
	return clusterSafeAt(set, until)
}

// Leading reports whether this server decides lapses and finishes drains
// for the cluster (always, on a single server).
func (r *Registry) Leading() bool {
	e := r.leases
	e.mu.Lock()
	defer e.mu.Unlock()
	return !e.cl.on || e.cl.leading
}

// forgetDrain retracts this server's report on k, which is gone. It runs
// on the loop, or on the reaper: the map is not touched there.
func (r *Registry) forgetDrain(k record.Key) {
	if r.opts.Served != nil {
		r.opts.Served.Forget(k)
	}
}

// forgetReports drops the record of drains reported that are over. It
// runs on the loop.
func (r *Registry) forgetReports(dr drains) {
	for k := range r.drainReported {
		if _, ok := dr[k]; !ok {
			delete(r.drainReported, k)
		}
	}
}
