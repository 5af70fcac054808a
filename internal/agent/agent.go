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
	// Servers are the dnslb API servers (at least one), in order of
	// preference: calls go to the one that answered last and fail over to
	// the others.
	Servers  []*client.Client
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
	// OnDrained runs on the way out once a drain was asked for: after the
	// set is gone, after a second signal, or when the instance turned out
	// to be going away before it registered; e.g. to complete an auto
	// scaling lifecycle action when one is pending. Its error is logged:
	// the drain is over either way.
	OnDrained func(ctx context.Context, id Identity) error
	// Termination, when set, tells whether the instance is going away. It
	// is asked before the first registration (an instance with a notice
	// pending never registers) and when a drain starts (a drain of a dying
	// instance is remembered in Memory).
	Termination Termination
	// Memory remembers a drain of a dying instance across restarts of the
	// agent, so that a restarted agent does not register it again.
	Memory Memory
	// HTTPOnly renews over HTTP even when the server offers UDP heartbeats.
	HTTPOnly bool
	// RequestTimeout is the deadline of each HTTP call (default 5s, at most
	// a third of the lease).
	RequestTimeout time.Duration
	// Backoff spaces retries after transient errors (default 200ms
	// doubling up to 10s, jittered).
	Backoff Backoff
	// IdentityWait is how long finding the identity may fail (IMDS
	// unreachable) before Run gives up (default 30s).
	IdentityWait time.Duration
	// Route53, when set, is where the instance registers instead of the
	// Servers (route53.go); Name is then fully qualified.
	Route53 *Route53
}

// Backoff is an exponential backoff with jitter: the n-th retry waits
// between half and all of min(Min × 2^n, Max).
type Backoff struct {
	Min, Max time.Duration
}

// Agent keeps one instance registered. New starts nothing; Run does.
type Agent struct {
	cfg       Config
	log       *slog.Logger
	srv       servers
	id        Identity
	typ       string
	checker   *health.Checker
	renewNow  chan struct{}
	draining  bool   // set by the Run goroutine when the drain starts
	beats     beats  // used by the Run goroutine only
	renewals  outage // failed renewals in a row; Run goroutine only
	doom      string // why the instance is going away, found before registering; Run goroutine only
	afterDone bool   // OnDrained ran; Run goroutine only
}

// New returns an Agent for cfg.
func New(cfg Config) *Agent {
	cfg.setDefaults()
	return &Agent{cfg: cfg, log: cfg.Logger, renewNow: make(chan struct{}, 1),
		srv: servers{list: cfg.Servers, timeout: cfg.RequestTimeout, log: cfg.Logger},
		renewals: outage{what: "renewal", lost: "server lost: renewals fail; retrying with backoff",
			back: "renewals recovered", bo: backoff{cfg: cfg.Backoff}}}
}

// setDefaults fills in what cfg leaves unset.
func (cfg *Config) setDefaults() {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.PollDrain == 0 {
		cfg.PollDrain = 10 * time.Second
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = defaultRequestTimeout
	}
	if cfg.Lease > 0 {
		cfg.RequestTimeout = min(cfg.RequestTimeout, cfg.Lease/3)
	}
	if cfg.Backoff.Min <= 0 {
		cfg.Backoff.Min = defaultBackoffMin
	}
	if cfg.Backoff.Max <= 0 {
		cfg.Backoff.Max = defaultBackoffMax
	}
	cfg.Backoff.Max = max(cfg.Backoff.Max, cfg.Backoff.Min)
	if cfg.IdentityWait <= 0 {
		cfg.IdentityWait = defaultIdentityWait
	}
}

// Run keeps the instance registered until a reason arrives on drain, then
// drains, deregisters and returns nil. When ctx ends first (a second
// signal), it deregisters at once and returns nil. An instance that is
// going away (Config.Termination, Config.Memory) is never registered.
// Transient errors are retried with backoff; an error that retrying cannot
// fix (a refusal by the server, no identity) ends Run with that error.
func (a *Agent) Run(ctx context.Context, drain <-chan string) error {
	for _, s := range a.startSteps() {
		reason, stopped, err := a.retry(ctx, drain, s)
		if err != nil {
			return err
		}
		if stopped {
			if reason != "" {
				a.log.Info("drain requested before registration; nothing to drain", "reason", reason)
				a.noteTermination(ctx)
			}
			a.afterDrain()
			return nil
		}
		if a.doom != "" {
			return a.leaveDoomed(ctx)
		}
	}
	if a.cfg.Route53 != nil {
		return a.route53Alive(ctx, drain)
	}
	if a.checker != nil {
		stop := a.runChecker(ctx)
		defer stop()
	}
	return a.keepAlive(ctx, drain)
}

// step is one thing Run does before the instance is registered.
type step struct {
	run   func(context.Context) error
	out   outage
	limit time.Duration // give up after failing this long; 0: never
}

// try runs s once, within what is left of its limit.
func (s *step) try(ctx context.Context, start time.Time) error {
	if s.limit <= 0 {
		return s.run(ctx)
	}
	ctx, cancel := context.WithDeadline(ctx, start.Add(s.limit))
	defer cancel()
	return s.run(ctx)
}

func (a *Agent) startSteps() []*step {
	mk := func(what string, run func(context.Context) error, limit time.Duration) *step {
		return &step{run: run, limit: limit, out: outage{what: what, lost: what + " failed; retrying with backoff",
			back: what + " succeeded after retries", bo: backoff{cfg: a.cfg.Backoff}}}
	}
	register := a.register
	if a.cfg.Route53 != nil {
		register = a.upsertR53
	}
	return []*step{mk("identity", a.identify, a.cfg.IdentityWait), mk("first local check", a.firstPass, 0),
		mk("termination check", a.checkDoom, 0), mk("registration", register, 0)}
}

// retry runs s until it succeeds, backing off between tries. It reports
// stopped when ctx ended or a drain was asked for first, and returns the
// error when retrying cannot help or s failed for longer than its limit.
func (a *Agent) retry(ctx context.Context, drain <-chan string, s *step) (reason string, stopped bool, err error) {
	start := time.Now()
	var last error
	for {
		select {
		case reason = <-drain: // a notice or a signal while the last step ran
			return reason, true, nil
		default:
		}
		err := s.try(ctx, start)
		switch {
		case err == nil:
			s.out.ok(a.log)
			return "", false, nil
		case !transient(err):
			return "", false, err
		case s.limit > 0 && time.Since(start) >= s.limit:
			if errors.Is(err, context.DeadlineExceeded) && last != nil {
				err = last // cut short by the limit: the try before says why
			}
			return "", false, fmt.Errorf("%w (gave up after %s)", err, s.limit)
		}
		last = err
		t := time.NewTimer(s.out.failed(a.log, err))
		select {
		case <-t.C:
		case reason = <-drain:
			t.Stop()
			return reason, true, nil
		case <-ctx.Done():
			t.Stop()
			return "", true, nil
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
	a.srv.log = a.log
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
		return permanentError{err}
	}
	if err := probe(ctx, a.log); err != nil {
		return fmt.Errorf("waiting for the first passing check: %w", err)
	}
	c, err := health.NewChecker(*a.cfg.Check, health.CheckerOptions{Logger: a.log, OnChange: a.healthChanged})
	if err != nil {
		return permanentError{err}
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
	var res client.SetResult
	_, err := a.srv.call(ctx, func(ctx context.Context, c *client.Client) (err error) {
		res, err = c.PutSet(ctx, a.cfg.Zone, req)
		return err
	})
	if err != nil {
		return fmt.Errorf("register: %w", err)
	}
	a.log.Info("registered", "name", res.RRSet.Name, "type", a.typ, "weight", w, "ttl", ttl, "lease", a.cfg.Lease)
	return nil
}

// keepAlive renews the lease about three times per lease, jittered, until
// a drain is asked for or ctx ends. A renewal that retrying cannot fix ends
// it with that error.
func (a *Agent) keepAlive(ctx context.Context, drain <-chan string) error {
	timer := time.NewTimer(a.renewInterval())
	defer timer.Stop()
	defer a.closeBeats()
	for {
		var next time.Duration
		var err error
		select {
		case <-timer.C:
			next, err = a.renewOrBackoff(ctx)
		case <-a.renewNow:
			next, err = a.renewOrBackoff(ctx)
		case reason := <-drain:
			a.log.Info("drain requested", "reason", reason)
			return a.drainAndLeave(ctx, timer)
		case <-ctx.Done():
			a.deregisterNow()
			a.afterDrain()
			return nil
		}
		if err != nil {
			return fmt.Errorf("renew: %w", err)
		}
		timer.Reset(next)
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
// interval, or sooner, backing off, after a transient error. It returns
// an error that retrying cannot fix, but for a draining set, whose lease
// only needs to last until the drain is over.
func (a *Agent) renewOrBackoff(ctx context.Context) (time.Duration, error) {
	if a.cfg.Lease <= 0 {
		return a.renewInterval(), nil
	}
	err := a.renew(ctx)
	switch {
	case err == nil:
		a.renewals.ok(a.log)
		return a.renewInterval(), nil
	case !transient(err) && !a.draining:
		return 0, err
	}
	return min(a.renewals.failed(a.log, err), a.renewInterval()), nil
}

// renew renews by heartbeat or else over HTTP. A set the server lost is
// registered again.
func (a *Agent) renew(ctx context.Context) error {
	healthy := a.checker == nil || a.checker.Status().Status != health.Down
	if a.beat(ctx, healthy) {
		return nil
	}
	var st record.LeaseStatus
	by, err := a.srv.call(ctx, func(ctx context.Context, c *client.Client) (err error) {
		st, err = c.Renew(ctx, a.cfg.Zone, a.cfg.Name, a.typ, a.id.SetID, &healthy)
		return err
	})
	a.afterHTTP(err == nil && by == a.beats.server)
	switch {
	case err == nil:
		a.learn(st.Heartbeat, by)
		return nil
	case client.IsCode(err, client.CodeNotFound) && a.draining:
		return nil // the server removed the drained set: nothing to renew
	case client.IsCode(err, client.CodeNotFound):
		a.log.Warn("the server does not know this instance; registering again", "server", by.Host())
		return a.register(ctx)
	}
	return err
}

// Once runs one action for init scripts: "register" (no lease) or
// "deregister" (drain, wait for safe_at, delete).
func (a *Agent) Once(ctx context.Context, action string) error {
	if err := a.identify(ctx); err != nil {
		return err
	}
	switch {
	case action == "register" && a.cfg.Route53 != nil:
		return a.upsertR53(ctx)
	case action == "deregister" && a.cfg.Route53 != nil:
		return a.drainR53(ctx)
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
