package registry

import (
	"context"
	"reflect"

	"github.com/dnslb/dnslb/internal/health"
	"github.com/dnslb/dnslb/internal/record"
)

// runningCheck is one server-side health checker, owned by the registry
// loop.
type runningCheck struct {
	cfg     record.Check
	checker *health.Checker
	cancel  context.CancelFunc
	done    chan struct{}
}

// syncCheck starts, restarts or stops the checker of set to match its
// configuration. It runs on the registry loop.
func (r *Registry) syncCheck(ctx context.Context, set *record.Set) {
	r.live.mu.Lock()
	s := r.live.get(set.Key)
	old := s.check
	r.live.mu.Unlock()
	want := set.ServerCheck() // with the set's addresses: a change of values restarts it
	if old != nil && want != nil && reflect.DeepEqual(old.cfg, *want) {
		return
	}
	r.stopCheck(set.Key)
	if want == nil {
		return
	}
	r.startCheck(ctx, set.Key, *want)
}

func (r *Registry) startCheck(ctx context.Context, key record.Key, cfg record.Check) {
	log := r.log.With("set", key.String(), "zone", key.Zone) // the checker adds "check"
	c, err := health.NewChecker(cfg, health.CheckerOptions{
		Logger: log, Now: r.now, Rules: &r.opts.Checks,
		OnChange: func(res health.Result) { r.healthChanged(key, res) },
	})
	if err != nil {
		log.Error("health check not started", "err", err)
		return
	}
	cctx, cancel := context.WithCancel(ctx)
	rc := &runningCheck{cfg: cfg, checker: c, cancel: cancel, done: make(chan struct{})}
	r.live.mu.Lock()
	s := r.live.get(key)
	s.check = rc
	s.health, s.since = c.Status().Status, r.now()
	r.live.touch(key)
	r.live.mu.Unlock()
	go func() {
		defer close(rc.done)
		c.Run(cctx)
	}()
}

// stopCheck stops the checker of key, if any, and waits for it.
func (r *Registry) stopCheck(key record.Key) {
	r.live.mu.Lock()
	s := r.live.sets[key]
	var rc *runningCheck
	if s != nil {
		rc, s.check = s.check, nil
		s.health = health.Unknown
	}
	r.live.mu.Unlock()
	if rc != nil {
		rc.cancel()
		<-rc.done
	}
}

// stopAllChecks stops every checker; the loop calls it on its way out.
func (r *Registry) stopAllChecks() {
	r.live.mu.Lock()
	keys := make([]record.Key, 0, len(r.live.sets))
	for k, s := range r.live.sets {
		if s.check != nil {
			keys = append(keys, k)
		}
	}
	r.live.mu.Unlock()
	for _, k := range keys {
		r.stopCheck(k)
	}
}

// healthChanged records a checker's new status and republishes. It runs on
// the checker's goroutine.
func (r *Registry) healthChanged(key record.Key, res health.Result) {
	r.live.mu.Lock()
	s := r.live.sets[key]
	if s == nil || s.check == nil {
		r.live.mu.Unlock()
		return
	}
	s.health, s.since, s.lastErr = res.Status, res.Since, ""
	if res.Err != nil {
		s.lastErr = res.Err.Error()
	}
	r.live.touch(key)
	r.live.mu.Unlock()
	r.metrics.healthTransitions.WithLabelValues(res.Status.String()).Inc()
	r.kick() // the checker logs the transition, once
}
