package registry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/store"
	"github.com/dnslb/dnslb/internal/zone"
)

// Options configure a Registry. The zero value is usable: defaults in
// withDefaults.
type Options struct {
	Logger     *slog.Logger
	Registerer prometheus.Registerer // nil: metrics are kept but not exported
	Now        func() time.Time      // the clock; time.Now when nil
	// Tick is how often leases and drains are looked at (default 250ms).
	Tick time.Duration
	// LeaseGrace is how long a set whose lease lapsed stays in the store,
	// out of answers, before it is deleted (default 1m).
	LeaseGrace time.Duration
	// RestartGrace is added to every lease when the registry starts, so a
	// server restart does not expire everyone (default 15s).
	RestartGrace time.Duration
	// BrakeShare and BrakeMin: when more than BrakeShare of the leased
	// sets of a name (and at least BrakeMin of them) would lapse within one
	// renewal window (a third of the lease), expiry pauses for that name
	// (defaults 0.5 and 2).
	BrakeShare float64
	BrakeMin   int
	// DrainMargin is added to the TTL when computing safe_at (default 5s).
	DrainMargin time.Duration
	// VisibleWait bounds how long a write, once committed, waits for DNS
	// answers to carry it before it returns a *NotVisibleError (default
	// DefaultVisibleWait).
	VisibleWait time.Duration
	// MetricsPerSet exports answers per record set, not only per name.
	MetricsPerSet bool
	// Checks say where server-side health checks may connect, on writes
	// and when probing (serve --check-allow); zero: the sets' own
	// addresses only.
	Checks record.CheckRules
}

func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&o.Tick, 250*time.Millisecond)
	def(&o.LeaseGrace, time.Minute)
	def(&o.RestartGrace, 15*time.Second)
	def(&o.DrainMargin, 5*time.Second)
	def(&o.VisibleWait, DefaultVisibleWait)
	if o.BrakeShare == 0 {
		o.BrakeShare = 0.5
	}
	if o.BrakeMin == 0 {
		o.BrakeMin = 2
	}
	return o
}

// Registry validates and applies changes, keeps leases, health and drains,
// and publishes the snapshot the DNS server answers from. New starts
// nothing; Run follows the store and runs the lifecycle.
type Registry struct {
	store    store.Store
	opts     Options
	log      *slog.Logger
	now      func() time.Time
	metrics  *metrics
	snap     atomic.Pointer[zone.Snapshot]
	live     *live
	beats    beats          // heartbeat tokens, readable without live.mu
	reports  *reports       // agent-reported health transitions on their way to the store
	observed *observer      // served counts of the last minute, for observed shares
	brakes   map[group]bool // guarded by live.mu

	kickC chan struct{}      // republish: live state changed
	tickC chan chan struct{} // run the lifecycle now (tests)

	mu     sync.Mutex    // guards pubRev, pubGen, pubC
	pubRev int64         // store revision of the newest snapshot
	pubGen uint64        // live generation of the newest snapshot
	pubC   chan struct{} // closed and replaced on each publish
	ready  chan struct{} // closed after the first snapshot
	once   sync.Once
}

// New returns a Registry over st.
func New(st store.Store, opts Options) *Registry {
	opts = opts.withDefaults()
	r := &Registry{
		store: st, opts: opts, log: opts.Logger, now: opts.Now,
		metrics: newMetrics(opts.Registerer),
		live:    newLive(), beats: newBeats(), brakes: map[group]bool{}, reports: newReports(opts.Logger),
		observed: newObserver(),
		kickC:    make(chan struct{}, 1), tickC: make(chan chan struct{}),
		pubC: make(chan struct{}), ready: make(chan struct{}),
	}
	if opts.Registerer != nil {
		opts.Registerer.MustRegister(newServedCollector(r.live, opts.MetricsPerSet))
	}
	return r
}

// Load returns the current snapshot (nil before Run has loaded the store).
// It is what the DNS server calls for every query.
func (r *Registry) Load() *zone.Snapshot { return r.snap.Load() }

// Ready is closed once the first snapshot is published.
func (r *Registry) Ready() <-chan struct{} { return r.ready }

// Run loads the store, publishes a snapshot, and keeps it current from the
// store's watch, from health checks and from the lease and drain clock
// until ctx ends. A watch that falls too far behind reloads.
func (r *Registry) Run(ctx context.Context) error {
	defer r.stopAllChecks()
	beatCtx, stopBeats := context.WithCancel(ctx)
	beatsDone := make(chan struct{})
	defer func() { stopBeats(); <-beatsDone }()
	go func() { defer close(beatsDone); r.applyBeats(beatCtx) }()
	reportsDone := make(chan struct{})
	defer func() { stopBeats(); <-reportsDone }()
	go func() { defer close(reportsDone); r.reports.run(beatCtx, r.store) }()
	observedDone := make(chan struct{})
	defer func() { stopBeats(); <-observedDone }()
	go func() { defer close(observedDone); r.observed.run(beatCtx, r.Load) }()
	first := true
	for {
		err := r.follow(ctx, first)
		first = false
		if ctx.Err() != nil {
			return nil
		}
		if !errors.Is(err, store.ErrCompacted) {
			return err
		}
		r.log.Warn("store watch fell behind; reloading everything", "err", err)
	}
}

// Tick runs the lifecycle (lease expiry, drain completion) once now, on the
// registry loop, and returns when it is done. Tests call it with a fake
// clock; in production a ticker does.
func (r *Registry) Tick(ctx context.Context) error {
	done := make(chan struct{})
	select {
	case r.tickC <- done:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// follow loads the whole state once, then applies watch events, health
// changes and ticks to it.
func (r *Registry) follow(ctx context.Context, first bool) error {
	st := newState()
	rev, err := r.store.View(ctx, st.load)
	if err != nil {
		return fmt.Errorf("load store: %w", err)
	}
	st.feed()
	r.startLive(ctx, st, first)
	r.publish(st, rev)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events := r.store.Watch(wctx, rev)
	ticker := time.NewTicker(r.opts.Tick)
	defer ticker.Stop()
	for {
		var done chan struct{}
		select {
		case ev, ok := <-events:
			if !ok {
				return r.watchEnded(ctx)
			}
			if rev, err = r.applyEvents(ctx, st, ev, events); err != nil {
				return err
			}
		case <-r.kickC:
		case <-ticker.C:
			r.lifecycle(ctx, st)
		case done = <-r.tickC:
			r.lifecycle(ctx, st)
		case <-ctx.Done():
			return nil
		}
		if r.stale(rev) {
			r.publish(st, rev)
		}
		if done != nil {
			close(done)
		}
	}
}

func (r *Registry) watchEnded(ctx context.Context) error {
	if ctx.Err() != nil {
		return nil
	}
	return fmt.Errorf("store watch ended: %w", store.ErrClosed)
}

// applyEvents applies ev and the events already waiting behind it, so a
// burst builds one snapshot. It returns only at the end of a transaction
// (an event marked Last): the snapshot never holds half of one, and a
// revision is never taken as published while some of its events are still
// in the channel.
func (r *Registry) applyEvents(ctx context.Context, st *state, ev store.Event, events <-chan store.Event) (int64, error) {
	for {
		if ev.Err != nil {
			return 0, ev.Err
		}
		prev, had := st.sets[ev.Set.Key]
		rev := st.apply(ev)
		r.eventLive(ctx, st, ev, had && retimedOnly(&prev, &ev.Set))
		var (
			next store.Event
			ok   bool
		)
		if ev.Last {
			select {
			case next, ok = <-events:
			default:
				return rev, nil
			}
		} else {
			select {
			case next, ok = <-events:
			case <-ctx.Done():
				return rev, ctx.Err()
			}
		}
		if !ok {
			return rev, r.watchEnded(ctx)
		}
		ev = next
	}
}

// lifecycle expires leases and finishes drains.
func (r *Registry) lifecycle(ctx context.Context, st *state) {
	r.applyQueued() // heartbeats first: a set renewed by one has not lapsed
	now := r.now()
	if del := r.expireLeases(st, now); len(del) > 0 {
		r.deleteExpired(ctx, del)
	}
	r.finishDrains(ctx, st, now)
}

// startLive sets up runtime state for a freshly loaded store: leases get a
// grace window after a (re)start, checks start, and every set counts as
// served until now + TTL (drains must wait for what the previous process
// served). After a reload, sets gone
// from the store while the watch was behind are forgotten.
func (r *Registry) startLive(ctx context.Context, st *state, first bool) {
	now := r.now()
	r.live.mu.Lock()
	var gone []record.Key
	for k := range r.live.sets {
		if _, ok := st.sets[k]; !ok {
			gone = append(gone, k)
		}
	}
	r.live.mu.Unlock()
	for _, k := range gone {
		r.forget(k)
	}
	r.live.mu.Lock()
	for k, set := range st.sets {
		s := r.live.get(k)
		s.known, s.lease, s.draining = true, set.Lease, set.State == record.Draining
		restoreReported(s, &set)
		s.beat.follow(s)
		if first { // what the previous process served may be cached until now + TTL
			s.served.Assume(now.Add(time.Duration(set.TTL)*time.Second), set.TTL)
		}
		if set.Lease > 0 && (first || s.deadline.IsZero()) {
			s.deadline = now.Add(set.Lease.D() + r.opts.RestartGrace)
		}
		if set.Lease > 0 {
			r.live.schedule(s, s.deadline)
		}
	}
	r.live.mu.Unlock()
	for _, set := range st.sets {
		r.syncCheck(ctx, &set)
	}
}

// eventLive keeps runtime state in step with one store event. A put
// renews the set's lease unless it only gave the set its group's new TTL
// (retimed).
func (r *Registry) eventLive(ctx context.Context, st *state, ev store.Event, retimed bool) {
	switch ev.Kind {
	case store.PutSet:
		set := ev.Set
		r.live.mu.Lock()
		s := r.live.get(set.Key)
		s.known, s.lease, s.draining = true, set.Lease, set.State == record.Draining
		if set.Lease > 0 && set.State == record.Active && set.Drain == nil && !retimed {
			s.deadline, s.expired, s.braked = r.now().Add(set.Lease.D()), false, false
		}
		s.beat.follow(s)
		if set.Lease > 0 {
			if s.deadline.IsZero() { // draining when first seen: its lease runs from now
				s.deadline = r.now().Add(set.Lease.D())
			}
			r.live.schedule(s, s.deadline)
		}
		r.live.mu.Unlock()
		r.syncCheck(ctx, &set)
	case store.DeleteSet:
		r.forget(ev.Set.Key)
	case store.DeleteZone:
		for k := range r.keysOfZone(ev.Zone.Name) {
			r.forget(k)
		}
	}
}

func (r *Registry) keysOfZone(zone string) map[record.Key]bool {
	r.live.mu.Lock()
	defer r.live.mu.Unlock()
	keys := map[record.Key]bool{}
	for k := range r.live.sets {
		if k.Zone == zone {
			keys[k] = true
		}
	}
	return keys
}

// forget drops the runtime state of k, whose set is gone from the store.
// The lifecycle calls it right after its own deletions as well as on the
// watch event: renewals read the live state, and must not find a set
// deleted a moment ago.
func (r *Registry) forget(k record.Key) {
	r.stopCheck(k)
	r.live.mu.Lock()
	if s := r.live.sets[k]; s != nil {
		r.beats.drop(s)
		s.forgotten = true
	}
	delete(r.live.sets, k)
	r.live.gen++
	r.live.mu.Unlock()
}

// kick asks the loop to republish; it never blocks.
func (r *Registry) kick() {
	select {
	case r.kickC <- struct{}{}:
	default:
	}
}

// stale reports whether the published snapshot is behind store revision
// rev or the live state, so that ticks with no change build nothing.
func (r *Registry) stale(rev int64) bool {
	r.live.mu.Lock()
	gen := r.live.gen
	r.live.mu.Unlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pubRev != rev || r.pubGen != gen
}

// publish builds a snapshot of what changed since the last one (store
// events already fed to st's builder, and the sets touched in live) and
// swaps it in.
func (r *Registry) publish(st *state, rev int64) {
	r.live.mu.Lock()
	gen := r.live.gen
	for k := range r.live.dirty {
		st.builder.Touch(k)
	}
	clear(r.live.dirty)
	snap := st.builder.Snapshot(rev, zone.Hooks{Eligible: r.live.eligible, Gone: r.live.gone, Served: r.live.servedOf})
	r.live.mu.Unlock()
	r.snap.Store(snap)
	r.mu.Lock()
	r.pubRev, r.pubGen = rev, gen
	close(r.pubC)
	r.pubC = make(chan struct{})
	r.mu.Unlock()
	r.once.Do(func() { close(r.ready) })
}

// waitPublished blocks until the snapshot includes store revision rev.
func (r *Registry) waitPublished(ctx context.Context, rev int64) error {
	ctx, cancel := context.WithTimeout(ctx, r.opts.VisibleWait)
	defer cancel()
	return atRevision(r.waitFor(ctx, func() bool { return r.pubRev >= rev }), rev)
}

// publishLive asks for a snapshot with live generation gen and waits for it.
func (r *Registry) publishLive(ctx context.Context, gen uint64) error {
	ctx, cancel := context.WithTimeout(ctx, r.opts.VisibleWait)
	defer cancel()
	r.kick()
	return r.waitFor(ctx, func() bool { return r.pubGen >= gen })
}

func (r *Registry) waitFor(ctx context.Context, done func() bool) error {
	for {
		r.mu.Lock()
		ok, c := done(), r.pubC
		r.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-c:
		case <-ctx.Done():
			return &NotVisibleError{Err: context.Cause(ctx)}
		}
	}
}

// touch records that k's eligibility changed: the generation advances and
// k's name is rebuilt in the next snapshot. Callers hold l.mu.
func (l *live) touch(k record.Key) {
	l.gen++
	l.dirty[k] = true
}
