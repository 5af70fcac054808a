package registry

import (
	"context"
	"crypto/rand"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dnslb/dnslb/internal/record"
)

// Heartbeats (package heartbeat) renew leases over UDP, on the DNS
// server's own loops when they share its port. The DNS loops must never
// wait for live.mu, which the lifecycle tick holds while it walks every
// leased set and publish holds while it builds a snapshot. So Beat only
// looks its token up (under a lock held for map updates alone), reads the
// lease from atomics, and queues the renewal; applyBeats takes live.mu
// once for every batch of queued renewals, a few milliseconds later.

// beatEntry is what the UDP path may read of one leased set.
type beatEntry struct {
	token    [16]byte
	key      record.Key
	lease    atomic.Int64 // nanoseconds; 0: the set has no lease (any more)
	draining atomic.Bool
}

// follow copies the lease and drain state of s, after they changed.
// Callers hold live.mu. A nil entry (no token yet) follows nothing.
func (e *beatEntry) follow(s *setLive) {
	if e == nil {
		return
	}
	e.lease.Store(int64(s.lease.D()))
	e.draining.Store(s.draining)
}

// beat is one queued heartbeat.
type beat struct {
	entry   *beatEntry
	healthy int8 // -1 not reported, 0 down, 1 up
}

// beatQueue is how many heartbeats may wait for applyBeats: 10,000
// agents renewing every 5 s queue about 20 between two batches.
const beatQueue = 8192

// beatBatchDelay is how long applyBeats lets heartbeats gather after the
// first one: it bounds its wake-ups to 1/beatBatchDelay per second, and
// how late a renewal lands (against leases of seconds).
const beatBatchDelay = 5 * time.Millisecond

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

// issue returns the token of the set k, whose live state is s, making one
// on first use. Callers hold live.mu.
func (b *beats) issue(k record.Key, s *setLive) [16]byte {
	if s.beat != nil {
		return s.beat.token
	}
	e := &beatEntry{key: k}
	_, _ = rand.Read(e.token[:]) // crypto/rand.Read does not fail
	e.follow(s)
	s.beat = e
	b.mu.Lock()
	b.byTok[e.token] = e
	b.mu.Unlock()
	return e.token
}

// drop forgets the token of s. Callers hold live.mu.
func (b *beats) drop(s *setLive) {
	if s.beat == nil {
		return
	}
	b.mu.Lock()
	delete(b.byTok, s.beat.token)
	b.mu.Unlock()
	s.beat = nil
}

// Beat renews the lease whose heartbeat token is tok, as Renew does, with
// the agent's health when reported. ok is false when tok names no leased
// set known here (it was deleted, or this server restarted and handed out
// other tokens since), or when renewals queue faster than they are applied:
// the agent then renews over HTTP. It neither blocks nor allocates; the
// renewal lands within a few milliseconds (applyBeats).
func (r *Registry) Beat(tok [16]byte, reported, healthy bool) (lease time.Duration, draining, ok bool) {
	r.beats.mu.RLock()
	e := r.beats.byTok[tok]
	r.beats.mu.RUnlock()
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
	select {
	case r.beats.queue <- b:
	default:
		r.metrics.beatsShed.Inc()
		return 0, false, false
	}
	select {
	case r.beats.wake <- struct{}{}:
	default:
	}
	return lease, e.draining.Load(), true
}

// applyBeats applies queued heartbeats in batches until ctx ends.
func (r *Registry) applyBeats(ctx context.Context) {
	timer := time.NewTimer(0)
	<-timer.C
	for {
		select {
		case <-r.beats.wake:
		case <-ctx.Done():
			return
		}
		timer.Reset(beatBatchDelay)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return
		}
		r.applyQueued()
	}
}

// applyQueued applies the heartbeats queued so far.
func (r *Registry) applyQueued() {
	changed := false
	r.live.mu.Lock()
	for n := len(r.beats.queue); n > 0; n-- {
		changed = r.applyBeat(<-r.beats.queue) || changed
	}
	r.live.mu.Unlock()
	if changed {
		r.kick()
	}
}

// applyBeat renews one set. Callers hold live.mu.
func (r *Registry) applyBeat(b beat) (changed bool) {
	e := b.entry
	s := r.live.sets[e.key]
	if s == nil || s.beat != e || !s.known || s.lease <= 0 {
		return false // gone, or registered anew since (with a new token)
	}
	var healthy *bool
	if b.healthy >= 0 {
		v := b.healthy == 1
		healthy = &v
	}
	return r.renewLocked(e.key, s, s.lease, healthy)
}
