package registry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
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
	// Manual: leases and drains are looked at only when Tick is called
	// (tests with a fake clock). Otherwise the loop wakes when the
	// earliest lease or drain is due.
	Manual bool
	// LeaseGrace is how long a set whose lease lapsed stays in the store,
	// out of answers, before it is deleted (default 1m).
	LeaseGrace time.Duration
	// RestartGrace is added to every lease when the registry starts
	// (default none). Leases restart from the start: a live agent renews
	// within a third of its lease, so one lease after a restart only the
	// sets nobody renews are gone.
	RestartGrace time.Duration
	// BrakeMax bounds the mass-expiry brake (see brake.go): past it, held
	// sets expire, rate-limited (default 2m; below 0 the brake is off).
	BrakeMax time.Duration
	// DrainMargin is added to the TTL when computing safe_at (default 5s).
	DrainMargin time.Duration
	// VisibleWait bounds how long a write, once committed, waits for DNS
	// answers to carry it before it returns a *NotVisibleError (default
	// DefaultVisibleWait).
	VisibleWait time.Duration
	// TimelineEvery is how often the status page's charts take a point
	// (timeline.go; default 1m, 60 points kept).
	TimelineEvery time.Duration
	// MetricsPerSet exports answers per record set, not only per name.
	MetricsPerSet bool
	// Checks say where server-side health checks may connect, on writes
	// and when probing (serve --check-allow); zero: the sets' own
	// addresses only.
	Checks record.CheckRules
	// Peers, when set, are the other servers sharing the store (package
	// cluster): lapses are then decided by one server, the leader (see
	// SetLeading and cluster.go), and written to the store.
	Peers Peers
	// Votes, when set, publishes this server's health check verdicts to
	// the other servers (package cluster), which give back the cluster's
	// verdict of each set through SetVerdict.
	Votes Votes
	// Served, when set, shares with the other servers how long their
	// answers with a draining set may be held (cluster_drain.go).
	Served Served
	// ReapBatch bounds how many expired sets and finished drains one
	// store transaction reaps (zero: all that are due, one transaction);
	// an etcd store needs it under etcd's --max-txn-ops.
	ReapBatch int
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
	def(&o.LeaseGrace, time.Minute)
	def(&o.BrakeMax, 2*time.Minute)
	def(&o.DrainMargin, 5*time.Second)
	def(&o.VisibleWait, DefaultVisibleWait)
	def(&o.TimelineEvery, timelineEvery)
	return o
}

// Registry validates and applies changes, and publishes the snapshot the
// DNS server answers from. It is the meeting point of units that each own
// their state: the publisher (watch → snapshot, answer counters), the
// lease engine (leases, due times, the brake, heartbeats, reported
// health), the health checks, the reaper (deletions off the loop), the
// writer of reported health (reported.go) and the sampler of observed
// shares (observed.go). New starts nothing; Run follows the store and
// runs them.
type Registry struct {
	store    store.Store
	opts     Options
	log      *slog.Logger
	now      func() time.Time
	metrics  *metrics
	pub      *publisher
	leases   *leases
	checks   *checks
	reaper   *reaper
	reports  *reports  // agent-reported health transitions on their way to the store
	observed *observer // served counts of the last minute, for observed shares
	journal  *journalQ // transitions that change nothing stored, for the history (history.go)
	timeline *timeline // the status page's charts (timeline.go)
	hooks    zone.Hooks

	tickC    chan chan struct{} // run the lifecycle now (Tick)
	lastPass time.Time          // of the lifecycle; the loop's alone
	outage   bool               // the store was unavailable at the last pass (failStatic); the loop's alone
	deleting chan []string      // zones the first load found being deleted (resumeDeletes)

	drainReported map[record.Key]time.Time // drains reported to Options.Served, by start; the loop's alone
}

// passGap is the shortest time between two lifecycle passes woken by the
// timer: with 10,000 leases a deadline falls due every millisecond or so,
// and one pass every 10 ms handles them all at a fraction of the wake-ups,
// well within the 50 ms a lapse may take to leave answers.
const passGap = 10 * time.Millisecond

// reloadWait is how long Run waits before it loads again when the store
// was unavailable.
const reloadWait = 2 * time.Second

// New returns a Registry over st.
func New(st store.Store, opts Options) *Registry {
	opts = opts.withDefaults()
	m := newMetrics(opts.Registerer)
	pub := newPublisher()
	touch := func(k record.Key) { pub.touch(k) }
	reports := newReports(opts.Logger)
	r := &Registry{
		store: st, opts: opts, log: opts.Logger, now: opts.Now, metrics: m, pub: pub,
		leases: newLeases(opts, m, touch, reports),
		checks: newChecks(opts.Logger, opts.Now, m, pub.touch, &opts.Checks),
		reaper: newReaper(opts.ReapBatch), tickC: make(chan chan struct{}),
		reports: reports, observed: newObserver(), deleting: make(chan []string, 1),
		journal: newJournalQ(), timeline: newTimeline(opts.Now),
		drainReported: map[record.Key]time.Time{},
	}
	r.wireHistory()
	r.checks.votes = opts.Votes
	r.hooks = zone.Hooks{Eligible: r.eligible, Gone: r.gone, Served: pub.servedHook}
	if opts.Registerer != nil {
		opts.Registerer.MustRegister(newServedCollector(pub, opts.MetricsPerSet))
	}
	return r
}

// Load returns the current snapshot (nil before Run has loaded the store).
// It is what the DNS server calls for every query.
func (r *Registry) Load() *zone.Snapshot { return r.pub.snap.Load() }

// Ready is closed once the first snapshot is published.
func (r *Registry) Ready() <-chan struct{} { return r.pub.ready }

// Run loads the store, publishes a snapshot, and keeps it current from the
// store's watch, from health checks and from the lease and drain clock
// until ctx ends. A watch that falls too far behind reloads.
func (r *Registry) Run(ctx context.Context) error {
	defer r.checks.stopWhere(nil)
	helpers, stopHelpers := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { stopHelpers(); wg.Wait() }()
	for _, run := range []func(context.Context){
		r.leases.applyBeats,
		r.runReaper,
		func(ctx context.Context) { r.reports.run(ctx, r.store) },
		func(ctx context.Context) { r.observed.run(ctx, r.Load) },
		r.runJournal,
		func(ctx context.Context) { r.timeline.run(ctx, r.opts.TimelineEvery, r.Load, r.observed.lastMinute) },
		r.runResumeDeletes,
		r.runCluster,
	} {
		wg.Add(1)
		go func() { defer wg.Done(); run(helpers) }()
	}
	for {
		err := r.follow(ctx, r.Load() == nil) // first until a load succeeds
		if ctx.Err() != nil {
			return nil
		}
		switch {
		case errors.Is(err, store.ErrCompacted):
			r.log.Warn("store watch fell behind; reloading everything", "err", err)
		case errors.Is(err, store.ErrUnavailable):
			r.log.Error("store unavailable; loading again shortly", "in", reloadWait.String(), "err", err)
			select {
			case <-time.After(reloadWait):
			case <-ctx.Done():
				return nil
			}
		default:
			return err
		}
	}
}

// Tick runs the lifecycle (lease expiry, the brake, drain completion) once
// now, on the registry loop, and returns when it is done, including the
// deletions it started off the loop. Tests call it with a fake clock.
func (r *Registry) Tick(ctx context.Context) error {
	done := make(chan struct{})
	select {
	case r.tickC <- done:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-done:
		r.reaper.wait()
		r.leases.clusterWait()
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// follow loads the whole state once, then applies watch events, touches,
// and lifecycle passes to it.
func (r *Registry) follow(ctx context.Context, first bool) error {
	dr := drains{}
	rev, err := r.load(ctx, dr, first)
	if err != nil {
		return err
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events := r.store.Watch(wctx, rev)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		next := r.lifecycle(ctx, dr, nil)
		if r.pub.stale(rev) {
			r.publish(rev)
		}
		r.arm(timer, next)
		var done chan struct{}
		select {
		case ev, ok := <-events:
			if !ok {
				return r.watchEnded(ctx)
			}
			if rev, err = r.applyEvents(ctx, dr, ev, events); err != nil {
				return err
			}
			continue // published by the next pass
		case <-r.pub.kick:
		case <-r.leases.wake:
		case <-timer.C:
		case done = <-r.tickC:
			r.lifecycle(ctx, dr, done)
		case <-ctx.Done():
			return nil
		}
		if done != nil {
			if r.pub.stale(rev) {
				r.publish(rev)
			}
			close(done)
		}
	}
}

// load reads the whole store and hands it to every unit.
func (r *Registry) load(ctx context.Context, dr drains, first bool) (int64, error) {
	var all loaded
	rev, err := r.store.View(ctx, all.load)
	if err != nil {
		return 0, fmt.Errorf("load store: %w", err)
	}
	keep := make(map[record.Key]bool, len(all.sets))
	for i := range all.sets {
		keep[all.sets[i].Key] = true
	}
	r.pub.reset(keep)
	r.leases.retain(keep)
	r.checks.stopWhere(func(k record.Key) bool { return !keep[k] })
	var deleting []string
	for _, z := range all.zones {
		r.pub.apply(store.Event{Kind: store.PutZone, Zone: z})
		if z.Deleting {
			deleting = append(deleting, z.Name)
		}
	}
	if first && len(deleting) > 0 {
		r.deleting <- deleting // buffered: the first load sends once
	}
	now := r.now()
	for i := range all.sets {
		set := &all.sets[i]
		r.pub.apply(store.Event{Kind: store.PutSet, Set: *set})
		if first { // what the previous process served may be cached until now + TTL
			r.pub.servedOf(set.Key).Assume(now.Add(time.Duration(set.TTL)*time.Second), set.TTL)
		}
		r.leases.put(set, now, loadMode(first))
		r.reaper.settled(set.Key) // the watch may have skipped a finished drain's change
		dr.follow(set)
		r.checks.sync(ctx, set)
	}
	r.publish(rev)
	return rev, nil
}

func loadMode(first bool) putMode {
	if first {
		return putRestart
	}
	return putReload
}

// arm sets timer for the next pass: the earliest of the lease engine's due
// times and next (a drain; zero: none).
func (r *Registry) arm(timer *time.Timer, next time.Time) {
	next = r.leases.arm(next, r.opts.Manual)
	if r.opts.Manual {
		next = time.Time{}
	}
	d := time.Hour
	if !next.IsZero() {
		d = max(next.Sub(r.now()), r.lastPass.Add(passGap).Sub(r.now()), 0)
	}
	timer.Reset(d)
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
func (r *Registry) applyEvents(ctx context.Context, dr drains, ev store.Event, events <-chan store.Event) (int64, error) {
	for {
		if ev.Err != nil {
			return 0, ev.Err
		}
		r.applyEvent(ctx, dr, ev)
		rev := ev.Rev
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

// applyEvent hands one store event to every unit that follows the store.
// A put renews the set's lease unless it is not its owner's write: the
// group's new TTL given to it, or its agent-reported health recorded
// (rewrittenOnly).
func (r *Registry) applyEvent(ctx context.Context, dr drains, ev store.Event) {
	mode := putWritten
	if ev.Kind == store.PutSet {
		if prev, ok := r.pub.builder.Set(ev.Set.Key); ok && rewrittenOnly(&prev, &ev.Set) {
			mode = putRewritten
		}
	}
	r.pub.apply(ev)
	switch ev.Kind {
	case store.PutSet:
		r.reaper.settled(ev.Set.Key)
		set := ev.Set
		r.leases.put(&set, r.now(), mode)
		dr.follow(&set)
		r.checks.sync(ctx, &set)
	case store.DeleteSet:
		r.reaper.settled(ev.Set.Key)
		delete(dr, ev.Set.Key)
		r.forget(ev.Set.Key)
	case store.DeleteZone:
		zone := ev.Zone.Name
		for k := range dr {
			if k.Zone == zone {
				delete(dr, k)
				r.reaper.settled(k)
			}
		}
		r.leases.dropZone(zone)
		r.checks.stopWhere(func(k record.Key) bool { return k.Zone == zone })
	}
}

// lifecycle expires leases, steps the brake and finishes drains, handing
// deletions to the reaper; it returns when the next drain is due (zero:
// none; the lease engine knows its own). In Manual mode only Tick (done !=
// nil) runs it.
func (r *Registry) lifecycle(ctx context.Context, dr drains, done chan struct{}) time.Time {
	if r.opts.Manual && done == nil {
		return time.Time{}
	}
	now := r.now()
	r.lastPass = now
	if err := r.storeDown(); err != nil {
		return r.failStatic(now, err)
	}
	if r.outage {
		r.outage = false
		r.log.Info("store available again: leases, expiry and drains carry on")
	}
	r.reaper.add(r.leases.expire(now))
	return r.finishDrains(dr, now)
}

// publish builds a snapshot of what changed since the last one (store
// events fed to the builder, and the sets touched) and swaps it in. The
// lease engine and the checks are locked for the build, so that every
// set's eligibility is read at one moment.
func (r *Registry) publish(rev int64) {
	gen := r.pub.takeDirty()
	r.leases.mu.Lock()
	r.checks.mu.Lock()
	snap := r.pub.builder.Snapshot(rev, r.hooks)
	r.checks.mu.Unlock()
	r.leases.mu.Unlock()
	r.pub.swap(snap, rev, gen)
}

// waitPublished blocks until the snapshot includes store revision rev, at
// most Options.VisibleWait: then a *NotVisibleError says the write is
// committed all the same.
func (r *Registry) waitPublished(ctx context.Context, rev int64) error {
	ctx, cancel := context.WithTimeout(ctx, r.opts.VisibleWait)
	defer cancel()
	return atRevision(r.pub.waitRev(ctx, rev), rev)
}

// publishTouched asks for a snapshot that includes every touch so far
// (renewals, the brake's release) and waits for it, at most
// Options.VisibleWait.
func (r *Registry) publishTouched(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, r.opts.VisibleWait)
	defer cancel()
	return r.pub.waitGen(ctx, r.pub.touchNone())
}

// eligible implements the answer rule "active, lease alive, healthy" for
// set. It runs in publish, with the lease engine and checks locked.
func (r *Registry) eligible(set *record.Set) bool {
	if set.State != record.Active {
		return false
	}
	switch set.Force {
	case record.ForceUp:
		return true
	case record.ForceDown:
		return false
	}
	if set.Lease > 0 && r.leases.reportedDown(set.Key) {
		return false
	}
	return set.Check == nil || !r.checks.downLocked(set.Key)
}

// gone reports a set whose lease lapsed (and no brake holds it): it is out
// of answers altogether, even when failing open. It runs in publish.
func (r *Registry) gone(set *record.Set) bool {
	return set.Lease > 0 && r.leases.gone(set.Key)
}
