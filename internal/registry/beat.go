package registry

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dnslb/dnslb/internal/heartbeat"
)

// Heartbeats (package heartbeat) renew leases over UDP, on the DNS
// server's own loops when they share its port. The DNS loops must never
// wait for leases.mu, which a lifecycle pass holds while it expires
// leases and publish holds while it builds a snapshot. So Beat only
// looks its key id up, checks the MAC and counter (under a lock held for map updates alone), reads the
// lease from atomics, and queues the renewal. The lease engine applies the
// queue, under leases.mu, before it looks for lapsed leases or counts
// renewals for the brake; a heartbeat that changes answers (a new health
// report, a lapsed set back) wakes applyBeats to apply it at once. Waking
// a goroutine for every batch of heartbeats cost an idle server 15 µs a
// heartbeat, against 9 µs this way.

// Heartbeats are signed with the set's key, kept with the set in the
// store (record.Set.BeatKey): every set with a key has an entry here, by
// key id, from the moment the engine follows it, so that a heartbeat to a
// server that has not renewed the set over HTTP yet (after a restart, or
// another server sharing the store) verifies and is told to renew over
// HTTP. That HTTP renewal arms the entry with a counter floor (see
// beatEntry.high); only then are heartbeats taken.

// beatEntry is what the UDP path may read of one leased set.
type beatEntry struct {
	token    heartbeat.Token // the key id
	key      heartbeat.Key
	l        *lease        // guarded by leases.mu: for applyBeat only
	high     atomic.Uint64 // highest counter accepted, or the floor an HTTP renewal set; 0: not armed
	lease    atomic.Int64  // nanoseconds; 0: the set has no lease (any more)
	draining atomic.Bool
	expired  atomic.Bool  // the lease lapsed: a heartbeat brings the set back
	reported atomic.Int32 // health last reported: -1 none, 0 down, 1 up
}

// follow copies what Beat reads of l, after it changed. Callers hold
// leases.mu. A nil entry (no key) follows nothing.
func (e *beatEntry) follow(l *lease) {
	if e == nil {
		return
	}
	e.lease.Store(int64(l.ttl))
	e.draining.Store(l.draining)
	e.expired.Store(l.expired)
	e.reported.Store(int32(l.reported))
}

// counted is what advance made of a counter.
type counted int8

const (
	countOK      counted = iota
	countUnarmed         // no HTTP renewal here yet: no floor to compare with
	countStale           // not greater than one accepted: a replay
)

// advance accepts counter c if it is greater than any accepted before.
func (e *beatEntry) advance(c uint64) counted {
	for {
		h := e.high.Load()
		switch {
		case h == 0:
			return countUnarmed
		case c <= h:
			return countStale
		case e.high.CompareAndSwap(h, c):
			return countOK
		}
	}
}

// arm raises the counter floor to the larger of the highest counter
// accepted and now in unix nanoseconds, and returns it: the agent's next
// heartbeats count up from there. Counters of heartbeats sent before, to
// this server or to one whose clock agrees, are below it.
func (e *beatEntry) arm(now time.Time) uint64 {
	floor := uint64(max(now.UnixNano(), 1))
	for {
		h := e.high.Load()
		if e.high.CompareAndSwap(h, max(h, floor)) {
			return max(h, floor)
		}
	}
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

// beats maps key ids to their sets.
type beats struct {
	mu    sync.RWMutex
	byTok map[heartbeat.Token]*beatEntry
	queue chan beat
	wake  chan struct{} // applyBeats: something is queued
}

func newBeats() beats {
	return beats{byTok: map[heartbeat.Token]*beatEntry{}, queue: make(chan beat, beatQueue), wake: make(chan struct{}, 1)}
}

// followKey follows the stored heartbeat key of l (hex; empty: none),
// replacing the entry when the key changed. Callers hold leases.mu.
func (b *beats) followKey(l *lease, hexKey string, log *slog.Logger) {
	if l.beat != nil && l.beatKey == hexKey {
		return
	}
	b.drop(l)
	l.beatKey = hexKey
	if hexKey == "" {
		return
	}
	key, err := heartbeat.ParseKey(hexKey)
	if err != nil {
		log.Warn("stored heartbeat key does not parse; the set renews over HTTP only", "set", l.key.String(), "err", err)
		return
	}
	e := &beatEntry{l: l, key: key, token: heartbeat.KeyIDOf(&key)}
	e.follow(l)
	l.beat = e
	b.mu.Lock()
	b.byTok[e.token] = e
	b.mu.Unlock()
}

// drop forgets the entry of l. Callers hold leases.mu.
func (b *beats) drop(l *lease) {
	if l.beat == nil {
		return
	}
	b.mu.Lock()
	if b.byTok[l.beat.token] == l.beat {
		delete(b.byTok, l.beat.token)
	}
	b.mu.Unlock()
	l.beat = nil
}

// Beat renews the lease whose key heartbeat q names, as Renew does, with
// the agent's health when reported, once q's MAC and counter check out.
// An authentic heartbeat is told to renew over HTTP when this server has
// no counter floor for the set yet, when the set has no lease (any more),
// or when renewals queue faster than they are applied. It neither blocks
// nor allocates; the renewal lands within a few milliseconds (applyBeats).
func (r *Registry) Beat(q heartbeat.Request) heartbeat.Result { return r.leases.beat(q) }

func (en *leases) beat(q heartbeat.Request) heartbeat.Result {
	en.beats.mu.RLock()
	e := en.beats.byTok[q.Token]
	en.beats.mu.RUnlock()
	switch {
	case e == nil:
		return heartbeat.Result{Verdict: heartbeat.NoKey}
	case !q.Verify(&e.key):
		return heartbeat.Result{Verdict: heartbeat.BadMAC}
	}
	res := heartbeat.Result{Verdict: heartbeat.RenewOverHTTP, Key: &e.key}
	switch e.advance(q.Counter) {
	case countUnarmed:
		return res
	case countStale:
		return heartbeat.Result{Verdict: heartbeat.Replay}
	}
	lease := time.Duration(e.lease.Load())
	if lease <= 0 || en.cl.cutOff() || !en.queueBeat(e, q.Health) {
		return res
	}
	res.Verdict, res.Lease, res.Draining = heartbeat.Renewed, lease, e.draining.Load()
	return res
}

// queueBeat queues a heartbeat of e for applyBeats; false when the queue
// is full (shed).
func (en *leases) queueBeat(e *beatEntry, h heartbeat.Health) bool {
	b := beat{entry: e, healthy: -1}
	if h != heartbeat.Unreported {
		b.healthy = 0
		if h == heartbeat.Up {
			b.healthy = 1
		}
	}
	urgent := e.expired.Load() || (b.healthy >= 0 && int32(b.healthy) != e.reported.Load())
	select {
	case en.beats.queue <- b:
	default:
		en.metrics.beatsShed.Inc()
		return false
	}
	if urgent || len(en.beats.queue) > beatQueue/2 {
		select {
		case en.beats.wake <- struct{}{}:
		default:
		}
	}
	return true
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
		return // gone, or registered anew since (with a new key)
	}
	e.renewLocked(l, b.healthy, now)
}
