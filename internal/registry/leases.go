package registry

import (
	"log/slog"
	"sync"
	"time"

	"github.com/dnslb/dnslb/internal/record"
)

// leases is the lease engine: the lease state of every leased set, the
// schedule of when each is due (see due), the mass-expiry brake (see
// brake.go), the agents' reported health and the heartbeat tokens (see
// beat.go). It alone owns that state, under mu; the registry loop feeds it
// the store's sets and asks it, when something is due, which leases lapsed
// and which expired sets are to be deleted. Renewals are applied in memory
// and never wait for the store.
type leases struct {
	mu     sync.Mutex
	byKey  map[record.Key]*lease
	byName map[nameKey][]*lease // for the brake: do a name's sets still renew?
	due    due
	brake  brake
	beats  beats // tokens; readable without mu

	opts    Options
	log     *slog.Logger
	metrics *metrics
	touch   func(record.Key)        // answers of the set may change (publisher.touch)
	reports *reports                // reported health transitions, for the store
	noted   func(record.Transition) // transitions, for the history (set by wireHistory)

	armed int64         // when the registry loop wakes next, unix ns (0: not armed)
	wake  chan struct{} // the loop must wake earlier than armed

	cl clusterState // the engine's part in a cluster (cluster.go); off on a single server
}

// lease is the runtime state of one leased set.
type lease struct {
	key      record.Key
	ttl      time.Duration // the set's lease
	rev      int64         // store revision of the set: only that version is deleted on expiry
	draining bool
	deadline instant
	expireAt instant // when an expired set is deleted
	heldAt   instant // when the brake took it
	sched    int64   // when the engine looks at it next, unix ns (0: not scheduled); see due
	beat     *beatEntry
	beatKey  string // the stored heartbeat key, hex (the entry's)
	reported int8   // health reported with renewals: -1 none, 0 down, 1 up
	expired  bool   // the lease lapsed and the set left answers
	held     bool   // the brake holds this lapsed set in answers
	deleting bool   // handed to the reaper
	dropped  bool   // gone from the store

	clusterLease // what a cluster adds (cluster.go)
}

// instant is a time as unix nanoseconds: 8 bytes where a time.Time takes
// 24, for state kept per lease.
type instant int64

func instantOf(t time.Time) instant { return instant(t.UnixNano()) }

func (i instant) time() time.Time { return time.Unix(0, int64(i)) }

// nameKey is one name of one zone: the sets that prove, by renewing, that
// the network to that name's instances works.
type nameKey struct{ zone, name string }

func nameOf(k record.Key) nameKey { return nameKey{k.Zone, k.Name} }

func newLeases(opts Options, m *metrics, touch func(record.Key), reports *reports) *leases {
	return &leases{byKey: map[record.Key]*lease{}, byName: map[nameKey][]*lease{},
		beats: newBeats(), opts: opts, log: opts.Logger, metrics: m, touch: touch, reports: reports,
		wake: make(chan struct{}, 1), cl: newClusterState(opts.Peers != nil)}
}

// fresh reports whether l renewed within the last half of its lease: an
// agent renewing every third of its lease always has.
func (l *lease) fresh(now time.Time) bool { return l.deadline.time().Sub(now) > l.ttl/2 }

// counts reports whether l is a lease the brake counts: leased, active,
// not expired.
func (l *lease) counts() bool { return !l.draining && !l.expired }

// putMode says where a set given to put comes from.
type putMode int

const (
	putWritten   putMode = iota // the watch: the set was written; an active one starts a new lease
	putRewritten                // the watch: the server rewrote it (rewrittenOnly); its lease stays as it is
	putRestart                  // the first load: every lease starts anew, with RestartGrace
	putReload                   // a reload after the watch fell behind: leases known keep their state
)

// put follows one stored set: its lease, state and revision.
func (e *leases) put(set *record.Set, now time.Time, mode putMode) {
	e.mu.Lock()
	defer e.mu.Unlock()
	l := e.byKey[set.Key]
	if set.Lease <= 0 {
		if l != nil {
			e.dropLocked(l)
		}
		return
	}
	fresh := l == nil
	if fresh {
		l = &lease{key: set.Key, reported: -1}
		e.byKey[set.Key] = l
		n := nameOf(set.Key)
		e.byName[n] = append(e.byName[n], l)
	}
	l.ttl, l.rev, l.draining = set.Lease.D(), set.Revision, set.State == record.Draining
	switch {
	case mode == putRestart:
		l.deadline = instantOf(now.Add(l.ttl + e.opts.RestartGrace))
	case (mode == putReload || mode == putRewritten) && !fresh:
	case mode == putWritten && set.State == record.Active && set.Drain == nil:
		l.deadline, l.expired, l.held, l.deleting = instantOf(now.Add(l.ttl)), false, false, false
	case fresh: // draining when first seen, or new in a reload: its lease runs from now
		l.deadline = instantOf(now.Add(l.ttl))
	}
	if l.draining {
		l.held = false // the drain takes it out of answers, and removes it
	}
	restoreReported(l, set)
	e.followLapse(l, set, now)
	e.beats.followKey(l, set.BeatKey, e.log)
	l.beat.follow(l)
	e.schedule(l, l.deadline.time())
}

// drop forgets the lease of k, whose set is gone from the store.
func (e *leases) drop(k record.Key) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if l := e.byKey[k]; l != nil {
		e.dropLocked(l)
	}
}

func (e *leases) dropLocked(l *lease) {
	e.beats.drop(l)
	l.dropped = true
	delete(e.byKey, l.key)
	n := nameOf(l.key)
	sets := e.byName[n]
	for i, m := range sets {
		if m == l {
			sets[i] = sets[len(sets)-1]
			sets[len(sets)-1] = nil
			sets = sets[:len(sets)-1]
			break
		}
	}
	if len(sets) == 0 {
		delete(e.byName, n)
	} else {
		e.byName[n] = sets
	}
}

// dropZone forgets the leases of every set of zone.
func (e *leases) dropZone(zone string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for k, l := range e.byKey {
		if k.Zone == zone {
			e.dropLocked(l)
		}
	}
}

// retain forgets the leases of sets not in keep (after a reload).
func (e *leases) retain(keep map[record.Key]bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for k, l := range e.byKey {
		if !keep[k] {
			e.dropLocked(l)
		}
	}
}

// renewal is what renew tells the caller.
type renewal struct {
	known    bool // the engine follows this set
	ttl      time.Duration
	draining bool
	state    string
	beat     *record.Heartbeat // nil: the set has no heartbeat key
	changed  bool              // answers may change: wait for them
}

// renew moves the lease of k a lease ahead and records the reported
// health. An unknown k creates nothing: known is false.
func (e *leases) renew(k record.Key, healthy *bool, now time.Time) renewal {
	e.mu.Lock()
	defer e.mu.Unlock()
	l := e.byKey[k]
	if l == nil {
		return renewal{}
	}
	changed := e.renewLocked(l, healthyOf(healthy), now)
	rn := renewal{known: true, ttl: l.ttl, draining: l.draining, state: l.state(), changed: changed}
	if b := l.beat; b != nil {
		rn.beat = &record.Heartbeat{Token: b.token.String(), Key: b.key.String(), Counter: b.arm(now)}
	}
	return rn
}

func healthyOf(h *bool) int8 {
	switch {
	case h == nil:
		return -1
	case *h:
		return 1
	}
	return 0
}

// renewLocked renews l; reported is -1 when the renewal carries no health.
// changed says whether answers may change. Callers hold e.mu.
func (e *leases) renewLocked(l *lease, reported int8, now time.Time) (changed bool) {
	changed = l.expired || (reported >= 0 && reported != l.reported)
	e.heardLocked(l, now)
	l.deadline, l.expired, l.held = instantOf(now.Add(l.ttl)), false, false
	e.schedule(l, l.deadline.time()) // a lapsed set was due only at its deletion
	if reported >= 0 && reported != l.reported {
		l.reported = reported
		e.reports.note(l.key, reported == 1) // written to the store off this lock: see reports
	}
	if changed {
		l.beat.follow(l)
		e.touch(l.key)
	}
	return changed
}

// state is a leased set's state as shown: active, draining or expired.
func (l *lease) state() string {
	switch {
	case l.draining:
		return "draining"
	case l.expired:
		return "expired"
	}
	return "active"
}

// gone reports a set whose lease lapsed (and no brake holds it): it is out
// of answers altogether, even when failing open. Callers hold e.mu.
func (e *leases) gone(k record.Key) bool {
	l := e.byKey[k]
	return l != nil && l.expired
}

// reportedDown reports a set whose agent said it is unhealthy. Callers
// hold e.mu.
func (e *leases) reportedDown(k record.Key) bool {
	l := e.byKey[k]
	return l != nil && l.reported == 0
}

// stillExpired reports whether k is expired and unchanged at revision rev:
// the reaper deletes it only then.
func (e *leases) stillExpired(k record.Key, rev int64) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	l := e.byKey[k]
	return l != nil && l.expired && l.rev == rev
}

// reaped is the reaper's word on an expired set handed to it: deleted, or
// not (changed meanwhile, or the store failed; looked at again at once).
func (e *leases) reaped(k record.Key, deleted bool, now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	l := e.byKey[k]
	if l == nil {
		return
	}
	if deleted {
		e.dropLocked(l)
		return
	}
	l.deleting = false
	e.schedule(l, now)
}
