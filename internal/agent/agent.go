// Package agent is the instance side of dnslb: it finds who this instance
// is, registers a weighted record set with a lease once the local check
// passes, keeps the lease alive while reporting local health, and on a
// drain trigger (SIGTERM, a spot notice, auto scaling termination) takes
// the instance out of answers and exits only when no client can still hold
// its address. It reaches the server only through api/client.
package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/dnslb/dnslb/internal/api/client"
	"github.com/dnslb/dnslb/internal/health"
	"github.com/dnslb/dnslb/internal/record"
)

// Config configures an Agent.
type Config struct {
	API      *client.Client
	Zone     string
	Name     string
	Type     string // A or AAAA; "" picks from the address
	Weight   int
	TTL      int64
	Lease    time.Duration // 0: no lease (for --once register)
	Margin   time.Duration // drain margin; < 0 means the server's default
	Check    *record.Check // local check, normalized; nil for none
	Identity IdentitySource
	Logger   *slog.Logger
	// PollDrain is the longest time between two readings of a drain's
	// progress, each logged (default 10s: a countdown line at most every
	// 10 s); the drain is read again at safe_at in any case.
	PollDrain time.Duration
	// OnDrained runs after the set is gone, e.g. to complete an auto
	// scaling lifecycle action.
	OnDrained func(ctx context.Context, id Identity) error
	// HTTPOnly renews over HTTP even when the server offers UDP heartbeats.
	HTTPOnly bool
}

// Agent keeps one instance registered. New starts nothing; Run does.
type Agent struct {
	cfg      Config
	log      *slog.Logger
	id       Identity
	typ      string
	checker  *health.Checker
	renewNow chan struct{}
	draining bool  // set by the Run goroutine when the drain starts
	beats    beats // used by the Run goroutine only
}

// New returns an Agent for cfg.
func New(cfg Config) *Agent {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.PollDrain == 0 {
		cfg.PollDrain = 10 * time.Second
	}
	return &Agent{cfg: cfg, log: cfg.Logger, renewNow: make(chan struct{}, 1)}
}

// Run keeps the instance registered until a reason arrives on drain, then
// drains, deregisters and returns nil. When ctx ends first (a second
// signal), it deregisters at once and returns. Transient errors are logged
// and retried; Run gives up only on ctx.
func (a *Agent) Run(ctx context.Context, drain <-chan string) error {
	steps := []func(context.Context) error{a.identify, a.firstPass, a.register}
	for _, step := range steps {
		if reason, stopped := a.retry(ctx, drain, step); stopped {
			if reason != "" {
				a.log.Info("drain requested before registration; nothing to drain", "reason", reason)
			}
			return ctx.Err()
		}
	}
	if a.checker != nil {
		stop := a.runChecker(ctx)
		defer stop()
	}
	return a.keepAlive(ctx, drain)
}

// retry runs step until it succeeds, backing off between tries. It reports
// stopped when ctx ended or a drain was asked for first.
func (a *Agent) retry(ctx context.Context, drain <-chan string, step func(context.Context) error) (reason string, stopped bool) {
	b := backoff{}
	for {
		err := step(ctx)
		if err == nil {
			return "", false
		}
		a.log.Warn("will retry", "err", err, "in", b.peek())
		select {
		case <-time.After(b.next()):
		case reason = <-drain:
			return reason, true
		case <-ctx.Done():
			return "", true
		}
	}
}

func (a *Agent) identify(ctx context.Context) error {
	id, err := a.cfg.Identity.Identity(ctx)
	if err != nil {
		return fmt.Errorf("identity: %w", err)
	}
	a.id, a.typ = id, a.cfg.Type
	if a.typ == "" {
		a.typ = "A"
		if !id.Address.Is4() {
			a.typ = "AAAA"
		}
	}
	a.log = a.log.With("set_id", id.SetID, "address", id.Address.String())
	a.log.Info("identity found", "labels", id.Labels)
	return nil
}

// firstPass waits for one passing probe of the local check, so that the
// instance is in DNS only once it can serve.
func (a *Agent) firstPass(ctx context.Context) error {
	if a.cfg.Check == nil {
		return nil
	}
	probe, err := health.NewProber(*a.cfg.Check)
	if err != nil {
		return err
	}
	if err := probe(ctx, a.log); err != nil {
		return fmt.Errorf("waiting for the first passing check: %w", err)
	}
	c, err := health.NewChecker(*a.cfg.Check, health.CheckerOptions{Logger: a.log, OnChange: a.healthChanged})
	if err != nil {
		return err
	}
	a.checker = c
	a.log.Info("local check passes")
	return nil
}

// healthChanged renews at once so the server follows a change of local
// health without waiting for the next renewal.
func (a *Agent) healthChanged(res health.Result) {
	a.log.Info("local health changed", "status", res.Status.String(), "err", res.Err)
	select {
	case a.renewNow <- struct{}{}:
	default:
	}
}

func (a *Agent) runChecker(ctx context.Context) (stop func()) {
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.checker.Run(cctx)
	}()
	return func() { cancel(); <-done }
}

// register creates or replaces this instance's record set.
func (a *Agent) register(ctx context.Context) error {
	w, ttl := a.cfg.Weight, a.cfg.TTL
	req := client.SetRequest{Name: a.cfg.Name, Type: a.typ, SetID: a.id.SetID, Weight: &w, TTL: &ttl,
		Values: []string{a.id.Address.String()}}
	if a.cfg.Lease > 0 {
		lease := record.Duration(a.cfg.Lease)
		req.Lease = &lease
	}
	res, err := a.cfg.API.PutSet(ctx, a.cfg.Zone, req)
	if err != nil {
		return fmt.Errorf("register: %w", err)
	}
	a.log.Info("registered", "name", res.RRSet.Name, "type", a.typ, "weight", w, "ttl", ttl, "lease", a.cfg.Lease)
	return nil
}

// keepAlive renews the lease about three times per lease, jittered, until
// a drain is asked for or ctx ends.
func (a *Agent) keepAlive(ctx context.Context, drain <-chan string) error {
	timer := time.NewTimer(a.renewInterval())
	defer timer.Stop()
	defer a.closeBeats()
	for {
		select {
		case <-timer.C:
			timer.Reset(a.renewOrBackoff(ctx))
		case <-a.renewNow:
			timer.Reset(a.renewOrBackoff(ctx))
		case reason := <-drain:
			a.log.Info("drain requested", "reason", reason)
			return a.drainAndLeave(ctx, timer)
		case <-ctx.Done():
			a.deregisterNow()
			return nil
		}
	}
}

func (a *Agent) renewInterval() time.Duration {
	base := a.cfg.Lease / 3
	if base <= 0 {
		base = 5 * time.Second
	}
	return base - base/10 + time.Duration(rand.Int64N(int64(base/5)+1)) // ±10%
}

// renewOrBackoff renews once and returns when to renew next: the usual
// interval, or sooner after an error. A set the server lost is registered
// again.
func (a *Agent) renewOrBackoff(ctx context.Context) time.Duration {
	if a.cfg.Lease <= 0 {
		return a.renewInterval()
	}
	healthy := a.checker == nil || a.checker.Status().Status != health.Down
	if a.beat(ctx, healthy) {
		return a.renewInterval()
	}
	st, err := a.cfg.API.Renew(ctx, a.cfg.Zone, a.cfg.Name, a.typ, a.id.SetID, &healthy)
	a.afterHTTP(err == nil)
	if err == nil {
		a.learn(st.Heartbeat)
	}
	if client.IsCode(err, client.CodeNotFound) && a.draining {
		return a.renewInterval() // the server removed the drained set: nothing to renew
	}
	if client.IsCode(err, client.CodeNotFound) {
		a.log.Warn("the server does not know this instance; registering again")
		err = a.register(ctx)
	}
	if err != nil {
		a.log.Warn("renewal failed; retrying soon", "err", err)
		return min(time.Second, a.renewInterval())
	}
	return a.renewInterval()
}

// drainAndLeave drains through the server, waits until safe_at (renewing
// the lease meanwhile), deregisters and runs OnDrained. A second signal
// (ctx) cuts the wait short.
func (a *Agent) drainAndLeave(ctx context.Context, renew *time.Timer) error {
	a.draining = true
	req := client.DrainRequest{}
	if a.cfg.Margin >= 0 {
		m := record.Duration(a.cfg.Margin)
		req.Margin = &m
	}
	st, err := a.cfg.API.Drain(ctx, a.cfg.Zone, a.cfg.Name, a.typ, a.id.SetID, req)
	if err != nil {
		return a.blindDrain(ctx, err)
	}
	a.log.Info("draining: out of new answers", "safe_at", st.SafeAt, "remaining", st.Remaining.D())
	poll := time.NewTimer(a.pollIn(st.Remaining.D()))
	defer poll.Stop()
	for {
		select {
		case <-poll.C:
			remaining, done, err := a.drainDone(ctx)
			if err != nil {
				a.log.Warn("reading the drain failed; retrying", "err", err)
			}
			if done {
				return a.leave(ctx)
			}
			poll.Reset(a.pollIn(remaining))
		case <-renew.C:
			renew.Reset(a.renewOrBackoff(ctx))
		case <-ctx.Done():
			a.log.Warn("second signal: leaving before the drain is complete")
			a.deregisterNow()
			return nil
		}
	}
}

// pollIn is when to read the drain next: at safe_at (the server's
// remaining time, so clocks need not agree), but at least every PollDrain
// to log the countdown.
func (a *Agent) pollIn(remaining time.Duration) time.Duration {
	return max(min(remaining, a.cfg.PollDrain), 10*time.Millisecond)
}

// drainDone reads the drain's progress and logs the countdown. The drain is
// done when the server says safe_at has passed (or already removed the set).
func (a *Agent) drainDone(ctx context.Context) (time.Duration, bool, error) {
	st, err := a.cfg.API.DrainStatus(ctx, a.cfg.Zone, a.cfg.Name, a.typ, a.id.SetID)
	if client.IsCode(err, client.CodeNotFound) {
		return 0, true, nil
	}
	if err != nil {
		return a.cfg.PollDrain, false, err
	}
	if st.Done || (!st.SafeAt.IsZero() && st.Remaining == 0) {
		return 0, true, nil
	}
	a.log.Info("draining", "safe_in", st.Remaining.D().Round(100*time.Millisecond))
	return st.Remaining.D(), false, nil
}

// blindDrain is the fallback when the server cannot be told: deregister,
// then wait TTL + margin as the seed recipe did.
func (a *Agent) blindDrain(ctx context.Context, cause error) error {
	wait := time.Duration(a.cfg.TTL)*time.Second + max(a.cfg.Margin, 5*time.Second)
	a.log.Error("drain through the server failed; deregistering and waiting TTL + margin", "err", cause, "wait", wait)
	a.deregisterNow()
	select {
	case <-time.After(wait):
	case <-ctx.Done():
	}
	return a.afterDrain(ctx)
}

func (a *Agent) leave(ctx context.Context) error {
	a.deregisterNow()
	a.log.Info("drained: no client can still hold this address")
	return a.afterDrain(ctx)
}

func (a *Agent) afterDrain(ctx context.Context) error {
	if a.cfg.OnDrained == nil {
		return nil
	}
	if err := a.cfg.OnDrained(ctx, a.id); err != nil {
		return fmt.Errorf("after the drain: %w", err)
	}
	return nil
}

// deregisterNow deletes the set, if it is still there, with a short
// deadline of its own (ctx may be over already).
func (a *Agent) deregisterNow() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := a.cfg.API.DeleteSet(ctx, a.cfg.Zone, a.cfg.Name, a.typ, a.id.SetID)
	switch {
	case err == nil:
		a.log.Info("deregistered")
	case client.IsCode(err, client.CodeNotFound):
	default:
		a.log.Error("deregistering failed; the lease will remove the set", "err", err)
	}
}

// Once runs one action for init scripts: "register" (no lease) or
// "deregister" (drain, wait for safe_at, delete).
func (a *Agent) Once(ctx context.Context, action string) error {
	if err := a.identify(ctx); err != nil {
		return err
	}
	switch action {
	case "register":
		return a.register(ctx)
	case "deregister":
		timer := time.NewTimer(time.Hour)
		defer timer.Stop()
		return a.drainAndLeave(ctx, timer)
	}
	return errors.New("--once takes register or deregister")
}

// backoff is exponential from 200ms to 10s.
type backoff struct{ d time.Duration }

func (b *backoff) peek() time.Duration {
	if b.d == 0 {
		return 200 * time.Millisecond
	}
	return b.d
}

func (b *backoff) next() time.Duration {
	d := b.peek()
	b.d = min(2*d, 10*time.Second)
	return d/2 + time.Duration(rand.Int64N(int64(d)))/2
}
