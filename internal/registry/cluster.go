package registry

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/store"
)

// Leases in a cluster (Options.Peers set; package cluster has the whole
// design). Several servers share one store, and an agent renews through
// any of them; renewals stay in the memory of the server that heard them,
// as on a single server. So no server may expire a set because *it*
// stopped hearing the agent:
//
//   - a follower (SetLeading(false), the start) never expires anything: a
//     lease past its deadline is merely "not decided here" (undecided);
//   - the leader, when a lease falls due, asks the other live servers
//     when they last heard it (Peers.Heard, batched). A later renewal
//     moves the deadline, in memory. A server that does not answer makes
//     the lapse wait: it may be the one hearing the agent. Only when none
//     heard it does the lapse pass the brake and get written: the set's
//     Lapsed, conditioned on its revision;
//   - every server, the leader too, takes a set out of answers when the
//     watch brings its Lapsed (followLapse), and puts it back when a
//     renewal through any server clears it (a renewal of a lapsed set is
//     a transition, written: revive). A server that heard a renewal after
//     the lapse was decided clears it at once;
//   - the leader alone deletes lapsed sets after LeaseGrace, and a new
//     leader starts every lease afresh before it may lapse one.
//
// Steady-state renewals thus write nothing; only lapses and revivals are.

// Peers are the other servers sharing the store, as the lease engine asks
// them (package cluster implements it).
type Peers interface {
	// Heard returns, for each of keys, the latest renewal any other live
	// server heard (the zero time: none). It fails, naming the server,
	// when a live server did not answer: that one may be hearing the
	// agent, so the lapse waits.
	Heard(ctx context.Context, keys []record.Key) ([]time.Time, error)
}

// Timing of the decider.
const (
	lapseBatch = 20 * time.Millisecond // leases due this close together are asked about in one round
	lapseRetry = time.Second           // a lapse that could not be decided is looked at again after this
)

// clusterState is the lease engine's part in a cluster, under leases.mu.
// runCluster owns the asking and writing; Tick waits for it (clusterWait).
type clusterState struct {
	on      bool
	leading bool
	ask     []*lease      // due on the leader: ask the peers
	mark    []markItem    // lapses decided: write them
	revive  []record.Key  // renewed while lapsed: clear the lapse
	busy    bool          // runCluster works on what it took
	idle    chan struct{} // closed and replaced when runCluster goes idle
	wake    chan struct{}
	waiting int          // lapses waiting for a peer's answer, at the last round
	lastErr error        // why they wait
	cut     *atomic.Bool // the store is unavailable here: renewals go elsewhere (cutCheck)
}

// clusterLease is what a cluster adds to a lease.
type clusterLease struct {
	heard     instant // the last renewal this server heard (HTTP or heartbeat)
	lapsedAt  instant // the stored lapse followed (0: none)
	asking    bool    // queued for, or in, a round of questions to the peers
	marking   bool    // its lapse is being written
	undecided bool    // past its deadline on a follower: the leader decides
	waiting   bool    // on the leader: its lapse waits for a server's answer
}

// markItem is a lapse to write: only the version at rev is marked, as
// lapsed at at.
type markItem struct {
	key record.Key
	rev int64
	at  time.Time
}

func newClusterState(on bool) clusterState {
	return clusterState{on: on, idle: make(chan struct{}), wake: make(chan struct{}, 1), cut: new(atomic.Bool)}
}

// cutOff reports, in a cluster, a server cut off from the store (see
// renewRefused). It is one atomic load: the heartbeat path reads it.
func (c *clusterState) cutOff() bool { return c.on && c.cut.Load() }

// cutCheck is how often a cluster server looks whether the store is
// reachable, for the heartbeat path.
const cutCheck = 250 * time.Millisecond

// renewRefused refuses renewals on a cluster server cut off from the
// store: the others cannot hear them (the leader would lapse the set
// while this one keeps it), so the agent must renew through another
// server, and does once this one answers 503 (heartbeats: renew over
// HTTP).
func (r *Registry) renewRefused() error {
	if !r.leases.cl.on {
		return nil
	}
	err := r.storeDown()
	r.leases.cl.cut.Store(err != nil)
	if err != nil {
		return fmt.Errorf("this server is cut off from the cluster's store; renew through another server: %w", err)
	}
	return nil
}

func (c *clusterState) poke() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// heardLocked records a renewal of l heard here. Callers hold e.mu.
func (e *leases) heardLocked(l *lease, now time.Time) {
	if !e.cl.on {
		return
	}
	l.heard, l.undecided, l.waiting = instantOf(now), false, false
	if l.expired && l.lapsedAt != 0 {
		e.cl.revive = append(e.cl.revive, l.key) // a transition: every server takes it back
		e.cl.poke()
	}
}

// undecided notes a follower's lease past its deadline: not expired here,
// and not looked at again until renewed or this server leads. Callers
// hold e.mu.
func (e *leases) undecided(l *lease) { l.undecided = true }

// askPeers queues l, due on the leader, for the next round of questions.
// Callers hold e.mu.
func (e *leases) askPeers(l *lease) {
	if l.asking || l.marking {
		return
	}
	l.asking = true
	e.cl.ask = append(e.cl.ask, l)
	e.cl.poke()
}

// markLapsed queues the lapse of l, decided at at, for the store. Callers
// hold e.mu.
func (e *leases) markLapsed(l *lease, at time.Time) {
	if l.marking || l.expired {
		return
	}
	l.marking = true
	e.cl.mark = append(e.cl.mark, markItem{key: l.key, rev: l.rev, at: at})
	e.cl.poke()
}

// followLapse applies set's stored lapse to l: out of answers when the
// decider wrote one (unless this server heard the agent since: then it
// clears it), back in when a renewal cleared it. A write that keeps the
// lapse (an operator's force, a drain) keeps the set out: only a renewal
// or a registration, which clear it, bring it back. Callers hold e.mu.
func (e *leases) followLapse(l *lease, set *record.Set, now time.Time) {
	l.marking = false
	if set.Lapsed == nil {
		if l.lapsedAt != 0 && l.expired {
			l.expired, l.deadline = false, instantOf(now.Add(l.ttl))
			l.beat.follow(l)
			e.touch(l.key)
		}
		l.lapsedAt = 0
		return
	}
	at := instantOf(*set.Lapsed)
	l.lapsedAt = at
	if l.heard > at && !l.draining { // renewed here after the leader decided
		e.cl.revive = append(e.cl.revive, l.key)
		e.cl.poke()
		return
	}
	if !l.expired {
		e.lapseLocked(l, *set.Lapsed, e.cl.leading) // the decider notes it in the history, once for the cluster
	}
}

// SetLeading makes this server the cluster's decider of lapses, or a
// follower. A new leader starts every lease afresh, a whole lease from
// now, before it may lapse one: it has heard no renewal yet, and the
// followers never expired any. Package cluster calls it on an election.
func (r *Registry) SetLeading(leading bool) {
	e := r.leases
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.cl.on || e.cl.leading == leading {
		return
	}
	e.cl.leading = leading
	if !leading {
		r.log.Info("no longer the cluster's lease decider")
		return
	}
	now := r.now()
	for _, l := range e.byKey {
		l.undecided = false
		switch {
		case l.expired:
			e.schedule(l, l.expireAt.time())
		case !l.draining:
			l.deadline = instantOf(now.Add(l.ttl))
			e.schedule(l, l.deadline.time())
		}
	}
	r.log.Info("now the cluster's lease decider; every lease starts afresh", "leases", len(e.byKey))
}

// Heard returns, for each of keys, when this server last heard a renewal
// of it (the zero time: never, or unknown). It answers the leader's
// question (package cluster's peer endpoint).
func (r *Registry) Heard(keys []record.Key) []time.Time {
	e := r.leases
	out := make([]time.Time, len(keys))
	e.mu.Lock()
	defer e.mu.Unlock()
	e.applyQueuedLocked(r.now())
	for i, k := range keys {
		if l := e.byKey[k]; l != nil && l.heard != 0 {
			out[i] = l.heard.time()
		}
	}
	return out
}

// LapsesWaiting reports how many lapses wait because a live server did
// not answer the leader, and why (nil error: none wait).
func (r *Registry) LapsesWaiting() (int, error) {
	e := r.leases
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.cl.waiting, e.cl.lastErr
}

// runCluster asks the peers about due leases and writes lapses and
// revivals, until ctx ends. On a single server it only waits.
func (r *Registry) runCluster(ctx context.Context) {
	e := r.leases
	var tick <-chan time.Time
	if e.cl.on {
		t := time.NewTicker(cutCheck)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-e.cl.wake:
		case <-tick:
			_ = r.renewRefused() // keeps cl.cut current for heartbeats
			continue
		case <-ctx.Done():
			e.clusterIdle(true)
			return
		}
		if !r.opts.Manual && !sleepCtx(ctx, lapseBatch) {
			e.clusterIdle(true)
			return
		}
		r.clusterRound(ctx)
		e.clusterIdle(false)
	}
}

// clusterRound asks about what is due, then writes what is decided.
func (r *Registry) clusterRound(ctx context.Context) {
	e := r.leases
	e.mu.Lock()
	ask := e.cl.ask
	e.cl.ask, e.cl.busy = nil, true
	e.mu.Unlock()
	if len(ask) > 0 {
		r.decide(ctx, ask)
	}
	e.mu.Lock()
	mark, revive := e.cl.mark, e.cl.revive
	e.cl.mark, e.cl.revive = nil, nil
	e.mu.Unlock()
	if len(mark)+len(revive) == 0 {
		return
	}
	if err := r.writeLapses(ctx, mark, revive); err != nil && ctx.Err() == nil {
		r.log.Error("writing lapses failed; will retry", "lapses", len(mark), "revivals", len(revive), "err", err)
		r.lapsesFailed(mark, revive)
		sleepCtx(ctx, lapseRetry)
	}
}

// decide asks the peers about the leases in ask and applies their answer.
func (r *Registry) decide(ctx context.Context, ask []*lease) {
	e := r.leases
	keys := make([]record.Key, len(ask))
	for i, l := range ask {
		keys[i] = l.key // immutable
	}
	asked := r.now() // a renewal heard after this is not in the answers: it revives the set
	heard, err := r.opts.Peers.Heard(ctx, keys)
	now := r.now()
	e.mu.Lock()
	defer e.mu.Unlock()
	var lapsing []*lease
	e.cl.waiting, e.cl.lastErr = 0, err
	for i, l := range ask {
		l.asking, l.waiting = false, err != nil
		switch {
		case l.dropped || l.expired || l.draining || l.held || l.deleting:
		case !e.cl.leading:
			l.undecided = true
		case err != nil:
			e.cl.waiting++
			e.schedule(l, now.Add(lapseRetry))
		default:
			if h := heard[i]; !h.IsZero() && h.Add(l.ttl).After(l.deadline.time()) {
				l.deadline = instantOf(h.Add(l.ttl)) // renewed through another server
			}
			if l.deadline.time().After(now) {
				e.schedule(l, l.deadline.time())
				continue
			}
			lapsing = append(lapsing, l)
		}
	}
	if err != nil && ctx.Err() == nil {
		r.log.Warn("lapses wait: a live server did not say whether it hears these agents", "sets", e.cl.waiting, "err", err)
	}
	e.brakeStep(asked, lapsing)
}

// writeLapses writes the lapses decided and clears those renewed, in one
// transaction. A set changed since its lapse was decided is left alone:
// the watch brings its new version, with a new lease.
func (r *Registry) writeLapses(ctx context.Context, mark []markItem, revive []record.Key) error {
	_, err := r.store.Update(ctx, func(tx store.Tx) error {
		for _, m := range mark {
			set, err := tx.Set(m.key)
			if skip, err := absent(err); skip || err != nil {
				if err != nil {
					return err
				}
				continue
			}
			if set.Revision == m.rev && set.Lapsed == nil {
				at := m.at
				set.Lapsed = &at
				if err := tx.PutSet(set); err != nil {
					return err
				}
			}
		}
		return clearLapses(tx, revive)
	})
	return err
}

// clearLapses clears the stored lapse of each set of keys that has one.
func clearLapses(tx store.Tx, keys []record.Key) error {
	for _, k := range keys {
		set, err := tx.Set(k)
		if skip, err := absent(err); skip || err != nil {
			if err != nil {
				return err
			}
			continue
		}
		if set.Lapsed != nil {
			set.Lapsed = nil
			if err := tx.PutSet(set); err != nil {
				return err
			}
		}
	}
	return nil
}

// absent tells a set deleted meanwhile (skip) from a failed read.
func absent(err error) (skip bool, _ error) {
	if errors.Is(err, store.ErrNotFound) {
		return true, nil
	}
	return false, err
}

// lapsesFailed puts back what could not be written: the lapses are
// decided again after lapseRetry, the revivals retried with the next
// round.
func (r *Registry) lapsesFailed(mark []markItem, revive []record.Key) {
	e := r.leases
	e.mu.Lock()
	defer e.mu.Unlock()
	at := r.now().Add(lapseRetry)
	for _, m := range mark {
		if l := e.byKey[m.key]; l != nil && l.marking {
			l.marking = false
			e.schedule(l, at)
		}
	}
	e.cl.revive = append(e.cl.revive, revive...)
}

// clusterIdle ends a round; with stop, at shutdown, it drops what is
// queued so that Tick's waiters return.
func (e *leases) clusterIdle(stop bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if stop {
		e.cl.ask, e.cl.mark, e.cl.revive = nil, nil, nil
	}
	e.cl.busy = false
	if len(e.cl.ask)+len(e.cl.mark)+len(e.cl.revive) > 0 {
		e.cl.poke()
		return
	}
	close(e.cl.idle)
	e.cl.idle = make(chan struct{})
}

// clusterWait blocks until runCluster has nothing queued and is idle
// (Tick). A round's revival retries keep it busy while the store fails.
func (e *leases) clusterWait() {
	for {
		e.mu.Lock()
		idle := !e.cl.busy && len(e.cl.ask)+len(e.cl.mark)+len(e.cl.revive) == 0
		c := e.cl.idle
		e.mu.Unlock()
		if idle {
			return
		}
		<-c
	}
}

// sleepCtx waits d; false when ctx ended first.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// Applied is the store revision this server's answers carry: a change
// at or below it is in them. A cluster asks each server for it to tell
// when a change is in every server's answers (INSYNC).
func (r *Registry) Applied() int64 {
	r.pub.mu.Lock()
	defer r.pub.mu.Unlock()
	return r.pub.pubRev
}

// Revision is the store's current revision.
func (r *Registry) Revision(ctx context.Context) (int64, error) {
	return r.store.View(ctx, func(store.ReadTx) error { return nil })
}
