package registry

import (
	"context"
	"crypto/rand"
	"sync"
	"sync/atomic"
	"time"
)

// Heartbeats (package heartbeat) renew leases over UDP, on the DNS
// server's own loops when they share its port. The DNS loops must never
// wait for leases.mu, which a lifecycle pass holds while it expires
// leases and publish holds while it builds a snapshot. So Beat only
// looks its token up (under a lock held for map updates alone), reads the
// lease from atomics, and queues the renewal. The lease engine applies the
// queue, under leases.mu, before it looks for lapsed leases or counts
// renewals for the brake; a heartbeat that changes answers (a new health
// report, a lapsed set back) wakes applyBeats to apply it at once. Waking
// a goroutine for every batch of heartbeats cost an idle server 15 µs a
// heartbeat, against 9 µs this way.

// beatEntry is what the UDP path may read of one leased set.
type beatEntry struct {
	token    [16]byte
	l        *lease       // guarded by leases.mu: for applyBeat only
	lease    atomic.Int64 // nanoseconds; 0: the set has no lease (any more)
	draining atomic.Bool
	expired  atomic.Bool  // the lease lapsed: a heartbeat brings the set back
	reported atomic.Int32 // health last reported: -1 none, 0 down, 1 up
}

// follow copies what Beat reads of l, after it changed. Callers hold
// leases.mu. A nil entry (no token yet) follows nothing.
func (e *beatEntry) follow(l *lease) {
	if e == nil {
		return
	}
	e.lease.Store(int64(l.ttl))
	e.draining.Store(l.draining)
	e.expired.Store(l.expired)
	e.reported.Store(int32(l.reported))
}

// beat is one queued heartbeat.
type beat struct {
	entry   *beatEntry
	healthy int8 // -1 not reported, 0 down, 1 up
}

// beatQueue is how many heartbeats may wait to be applied: 10,000 agents
// renewing every 5 s queue 2,000 a second, applied by every lifecycle pass
// (with that many leases, one falls due every few milliseconds). Past half
// of it, applyBeats is woken.
const beatQueue = 8192

// beats maps heartbeat tokens to their sets.
type beats struct {
	mu    sync.RWMutex
	byTok map[[16]byte]*beatEntry
	queue chan beat
	wake  chan struct{} // applyBeats: something is queued
}

func newBeats() beats {
	return beats{byTok: map[[16]byte]*beatEntry{}, queue: make(chan beat, beatQueue), wake: make(chan struct{}, 1)}
}

// issue returns the token of the lease l, making one on first use.
// Callers hold leases.mu.
func (b *beats) issue(l *lease) [16]byte {
	if l.beat != nil {
		return l.beat.token
	}
	e := &beatEntry{l: l}
	_, _ = rand.Read(e.token[:]) // crypto/rand.Read does not fail
	e.follow(l)
	l.beat = e
	b.mu.Lock()
	b.byTok[e.token] = e
	b.mu.Unlock()
	return e.token
}

// drop forgets the token of l. Callers hold leases.mu.
func (b *beats) drop(l *lease) {
	if l.beat == nil {
		return
	}
	b.mu.Lock()
	delete(b.byTok, l.beat.token)
	b.mu.Unlock()
	l.beat = nil
}

// Beat renews the lease whose heartbeat token is tok, as Renew does, with
// the agent's health when reported. ok is false when tok names no leased
// set known here (it was deleted, or this server restarted and handed out
// other tokens since), or when renewals queue faster than they are applied:
// the agent then renews over HTTP. It neither blocks nor allocates; the
// renewal lands within a few milliseconds (applyBeats).
func (r *Registry) Beat(tok [16]byte, reported, healthy bool) (lease time.Duration, draining, ok bool) {
	return r.leases.beat(tok, reported, healthy)
}

func (en *leases) beat(tok [16]byte, reported, healthy bool) (lease time.Duration, draining, ok bool) {
	en.beats.mu.RLock()
	e := en.beats.byTok[tok]
	en.beats.mu.RUnlock()
	if e == nil {
		return 0, false, false
	}
	lease = time.Duration(e.lease.Load())
	if lease <= 0 {
		return 0, false, false
	}
	b := beat{entry: e, healthy: -1}
	if reported {
		b.healthy = 0
		if healthy {
			b.healthy = 1
		}
	}
	urgent := e.expired.Load() || (reported && int32(b.healthy) != e.reported.Load())
	select {
	case en.beats.queue <- b:
	default:
		en.metrics.beatsShed.Inc()
		return 0, false, false
	}
	if urgent || len(en.beats.queue) > beatQueue/2 {
		select {
		case en.beats.wake <- struct{}{}:
		default:
		}
	}
	return lease, e.draining.Load(), true
}

// applyBeats applies the queue when Beat asks, until ctx ends; every
// lifecycle pass and brake count applies it otherwise.
func (e *leases) applyBeats(ctx context.Context) {
	for {
		select {
		case <-e.beats.wake:
			e.applyQueued(e.opts.Now())
		case <-ctx.Done():
			return
		}
	}
}

// applyQueued applies the heartbeats queued so far.
func (e *leases) applyQueued(now time.Time) {
	if len(e.beats.queue) == 0 {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.applyQueuedLocked(now)
}

// applyQueuedLocked applies the heartbeats queued so far. Callers hold e.mu.
func (e *leases) applyQueuedLocked(now time.Time) {
	for n := len(e.beats.queue); n > 0; n-- {
		e.applyBeat(<-e.beats.queue, now)
	}
}

// applyBeat renews one set. Callers hold e.mu.
func (e *leases) applyBeat(b beat, now time.Time) {
	l := b.entry.l // no map lookup: the set's lease, unless it was dropped since
	if l.dropped || l.beat != b.entry {
		return // gone, or registered anew since (with a new token)
	}
	e.renewLocked(l, b.healthy, now)
}
