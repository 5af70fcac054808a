package registry

import (
	"context"
	"log/slog"
	"reflect"
	"sync"
	"time"

	"github.com/dnslb/dnslb/internal/health"
	"github.com/dnslb/dnslb/internal/record"
)

// checks supervises the server-side health checkers, one per set with a
// check, and owns their verdicts. The registry loop starts and stops
// them; each checker reports on its own goroutine.
type checks struct {
	mu      sync.Mutex
	byKey   map[record.Key]*runningCheck
	log     *slog.Logger
	now     func() time.Time
	metrics *metrics
	touch   func(record.Key) uint64
	rules   *record.CheckRules      // where probes may connect (Options.Checks)
	noted   func(record.Transition) // transitions, for the history (set by wireHistory)

	votes    Votes                  // a cluster's (Options.Votes); nil on a single server
	verdicts map[record.Key]Verdict // the cluster's verdicts (cluster_health.go)
}

// runningCheck is one server-side health checker and its verdict.
type runningCheck struct {
	cfg     record.Check
	checker *health.Checker
	cancel  context.CancelFunc
	done    chan struct{}
	health  health.Status
	since   time.Time
	lastErr string // last probe error while down
}

func newChecks(log *slog.Logger, now func() time.Time, m *metrics, touch func(record.Key) uint64, rules *record.CheckRules) *checks {
	return &checks{byKey: map[record.Key]*runningCheck{}, log: log, now: now, metrics: m, touch: touch, rules: rules}
}

// sync starts, restarts or stops the checker of set to match its
// configuration. It runs on the registry loop.
func (c *checks) sync(ctx context.Context, set *record.Set) {
	c.mu.Lock()
	old := c.byKey[set.Key]
	c.mu.Unlock()
	want := set.ServerCheck() // with the set's addresses: a change of values restarts it
	if old != nil && want != nil && reflect.DeepEqual(old.cfg, *want) {
		return
	}
	if old == nil && want == nil {
		return
	}
	c.stop(set.Key)
	if want != nil {
		c.start(ctx, set.Key, *want)
	}
}

func (c *checks) start(ctx context.Context, key record.Key, cfg record.Check) {
	log := c.log.With("set", key.String(), "zone", key.Zone) // the checker adds "check"
	hc, err := health.NewChecker(cfg, health.CheckerOptions{
		Logger: log, Now: c.now, Rules: c.rules,
		OnChange: func(res health.Result) { c.changed(key, res) },
	})
	if err != nil {
		log.Error("health check not started", "err", err)
		return
	}
	cctx, cancel := context.WithCancel(ctx)
	rc := &runningCheck{cfg: cfg, checker: hc, cancel: cancel, done: make(chan struct{}),
		health: hc.Status().Status, since: c.now()}
	c.mu.Lock()
	c.byKey[key] = rc
	c.mu.Unlock()
	c.vote(key, rc.health)
	c.touch(key)
	go func() {
		defer close(rc.done)
		hc.Run(cctx)
	}()
}

// stop stops the checker of key, if any, and waits for it.
func (c *checks) stop(key record.Key) {
	c.mu.Lock()
	rc := c.byKey[key]
	delete(c.byKey, key)
	c.mu.Unlock()
	if rc != nil {
		rc.cancel()
		<-rc.done
		c.withdraw(key)
	}
}

// stopWhere stops every checker whose key matches; nil matches all.
func (c *checks) stopWhere(match func(record.Key) bool) {
	c.mu.Lock()
	var keys []record.Key
	for k := range c.byKey {
		if match == nil || match(k) {
			keys = append(keys, k)
		}
	}
	c.mu.Unlock()
	for _, k := range keys {
		c.stop(k)
	}
}

// changed records a checker's new status and republishes. It runs on the
// checker's goroutine.
func (c *checks) changed(key record.Key, res health.Result) {
	c.mu.Lock()
	rc := c.byKey[key]
	if rc == nil {
		c.mu.Unlock()
		return
	}
	rc.health, rc.since, rc.lastErr = res.Status, res.Since, ""
	if res.Err != nil {
		rc.lastErr = res.Err.Error()
	}
	lastErr := rc.lastErr
	c.mu.Unlock()
	if c.votes == nil { // in a cluster the verdict's turns are noted (SetVerdict)
		c.noteHealth(key, res, lastErr)
	}
	c.vote(key, res.Status)
	c.touch(key)
	c.metrics.healthTransitions.WithLabelValues(res.Status.String()).Inc() // the checker logs the transition, once
}

// downLocked reports a set whose checker says down, or in a cluster the
// live servers' verdict when there is one. Callers hold c.mu.
func (c *checks) downLocked(k record.Key) bool {
	if v, ok := c.verdicts[k]; ok {
		return !v.Up
	}
	rc := c.byKey[k]
	return rc != nil && rc.health == health.Down
}
