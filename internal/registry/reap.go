package registry

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/store"
)

// reaper deletes expired sets and finishes drains for the registry loop,
// off it: whatever is queued goes in one store transaction (one fsync for
// a thousand expiries, not one each), while the loop keeps applying the
// watch and renewals. It is started by Run and stops with it.
type reaper struct {
	mu       sync.Mutex
	idle     *sync.Cond // signalled when the queue is empty and nothing is being reaped
	working  bool
	queue    []reapItem
	inflight map[record.Key]bool // drains queued, being finished, or finished but not yet seen on the watch
	wake     chan struct{}
	batch    int // the most items one round takes (Options.ReapBatch); 0: all
}

// reapRetry is how long the reaper waits after a failed transaction.
const reapRetry = time.Second

func newReaper(batch int) *reaper {
	q := &reaper{inflight: map[record.Key]bool{}, wake: make(chan struct{}, 1), batch: batch}
	q.idle = sync.NewCond(&q.mu)
	return q
}

// wait blocks until everything queued so far is reaped (Tick).
func (q *reaper) wait() {
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.working || len(q.queue) > 0 {
		q.idle.Wait()
	}
}

// add queues items without blocking.
func (q *reaper) add(items []reapItem) {
	if len(items) == 0 {
		return
	}
	q.mu.Lock()
	q.queue = append(q.queue, items...)
	for _, it := range items {
		if it.drain {
			q.inflight[it.key] = true
		}
	}
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// busy reports whether the drain of k is queued or being finished.
func (q *reaper) busy(k record.Key) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.inflight[k]
}

func (q *reaper) take() []reapItem {
	q.mu.Lock()
	defer q.mu.Unlock()
	items := q.queue
	q.queue = nil
	if q.batch > 0 && len(items) > q.batch { // the rest in the next round
		items, q.queue = items[:q.batch:q.batch], items[q.batch:]
		select {
		case q.wake <- struct{}{}: // the next round takes the rest
		default:
		}
	}
	q.working = len(items) > 0
	return items
}

// done ends a round: drains not finished may be queued again; finished
// ones stay busy until the watch brings their change (settled).
func (q *reaper) done(items []reapItem, finished map[record.Key]bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, it := range items {
		if !finished[it.key] {
			delete(q.inflight, it.key)
		}
	}
	q.working = false
	q.idle.Broadcast()
}

// settled records that the watch brought a change of k: a drain finished
// for it is no longer busy.
func (q *reaper) settled(k record.Key) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.inflight, k)
}

// stop drops what is queued, releasing Tick's waiters, at shutdown.
func (q *reaper) stop() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.queue, q.working = nil, false
	q.idle.Broadcast()
}

// runReaper reaps what is queued until ctx ends.
func (r *Registry) runReaper(ctx context.Context) {
	for {
		select {
		case <-r.reaper.wake:
		case <-ctx.Done():
			r.reaper.stop()
			return
		}
		items := r.reaper.take()
		if len(items) == 0 {
			continue
		}
		finished, err := r.reap(ctx, items)
		if err != nil && ctx.Err() == nil {
			r.log.Error("deleting expired sets and finishing drains failed; will retry", "sets", len(items), "err", err)
			select {
			case <-time.After(reapRetry):
			case <-ctx.Done():
			}
		}
		r.reaper.done(items, finished)
		r.leases.poke() // drains not finished are looked at again
	}
}

// reap applies items in one transaction, and returns the drains it
// finished. A set that changed since it was queued (registered again,
// renewed, drained anew) is left alone.
func (r *Registry) reap(ctx context.Context, items []reapItem) (map[record.Key]bool, error) {
	applied := make([]bool, len(items))
	n := &notes{by: record.ServerActor}
	rev, err := r.store.Update(ctx, func(tx store.Tx) error {
		clear(applied)
		n.reset()
		for i, it := range items {
			ok, err := r.reapOne(tx, n, it)
			if err != nil {
				return err
			}
			applied[i] = ok
		}
		return nil
	})
	if err == nil {
		r.committed(ctx, n, rev)
	}
	now := r.now()
	expired, finished := 0, map[record.Key]bool{}
	for i, it := range items {
		done := err == nil && applied[i]
		switch {
		case it.drain && done:
			finished[it.key] = true
			r.drainDone(it)
		case !it.drain:
			r.leases.reaped(it.key, done, now)
			if done {
				expired++
				r.forget(it.key)
			}
		}
	}
	if expired > 0 {
		r.metrics.leaseDeletes.Add(float64(expired))
		r.log.Info("expired sets deleted", "sets", expired)
	}
	return finished, err
}

// reapOne deletes or keeps one set inside tx; ok says it did.
func (r *Registry) reapOne(tx store.Tx, n *notes, it reapItem) (ok bool, err error) {
	cur, err := tx.Set(it.key)
	if errors.Is(err, store.ErrNotFound) || err == nil && cur.Revision != it.rev {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	switch {
	case !it.drain && !r.leases.stillExpired(it.key, it.rev):
		return false, nil // renewed since it was queued
	case it.drain && it.keep:
		cur.State, cur.Weight, cur.Drain, cur.Updated = record.Active, 0, nil, r.now()
		if err := tx.PutSet(cur); err != nil {
			return false, err
		}
		return true, n.note(tx, record.Transition{At: r.now(), Key: it.key, Event: record.EventDrained, Detail: "kept at weight 0"})
	}
	if err := r.deleteKeepingName(tx, cur); err != nil {
		return false, err
	}
	tr := record.Transition{At: r.now(), Key: it.key, Event: record.EventExpired, Detail: "deleted after its lease lapsed"}
	if it.drain {
		tr.Event, tr.Detail = record.EventDrained, "deleted"
	}
	return true, n.note(tx, tr)
}

// forget drops what the registry keeps for k besides the store, right
// after the reaper deleted it as well as on the watch event: renewals
// must not find a set deleted a moment ago.
func (r *Registry) forget(k record.Key) {
	r.leases.drop(k)
	r.checks.stop(k)
	r.forgetDrain(k)
}
