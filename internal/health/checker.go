package health

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/dnslb/dnslb/internal/record"
)

// Result is what a Checker reports on each change of status.
type Result struct {
	Status Status
	// Since is when Status was entered (or the Checker created).
	Since time.Time
	// Err is the last probe's error, nil when it passed.
	Err error
}

// CheckerOptions are the dependencies of a Checker; all may be left zero.
type CheckerOptions struct {
	// Logger receives status changes (Info) and failed probes (Debug);
	// nil discards.
	Logger *slog.Logger
	// Now stamps results; nil is time.Now. The loop's timing uses real
	// timers.
	Now func() time.Time
	// Rand returns a number in [0, n), for the jitter of the first probe;
	// nil is math/rand/v2.
	Rand func(n int64) int64
	// OnChange is called from the checker goroutine, only when the status
	// changes. It must not call Step.
	OnChange func(Result)
	// Rules, when not nil, make the check a server-side one
	// (NewServerProber): it reaches only the addresses they allow. Nil
	// for agent-side checks, which probe their own instance.
	Rules *record.CheckRules
}

// withDefaults fills the nil fields of o.
func (o CheckerOptions) withDefaults() CheckerOptions {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Rand == nil {
		o.Rand = rand.Int64N
	}
	return o
}

// Checker runs one check: after a random first delay in [0, interval), one
// probe per interval, never overlapping (a probe that runs long delays the
// next), each fed to a Hysteresis.
type Checker struct {
	check    record.Check
	probe    Prober
	log      *slog.Logger
	now      func() time.Time
	rand     func(n int64) int64
	onChange func(Result)

	stepMu sync.Mutex // serializes Step; guards hyst
	hyst   *Hysteresis

	mu   sync.Mutex // guards last
	last Result
}

// NewChecker returns a Checker for c, which must already be normalized
// (record.Check.Normalize). It starts nothing. The initial status is Up —
// healthy until the first results arrive, as in Route 53 — or Down when
// c.StartUnhealthy is set.
func NewChecker(c record.Check, opts CheckerOptions) (*Checker, error) {
	if err := checkNormalized(c); err != nil {
		return nil, err
	}
	probe, err := newProber(c, opts.Rules)
	if err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	initial, now := Up, opts.Now()
	if c.StartUnhealthy {
		initial = Down
	}
	return &Checker{
		check: c, probe: probe, log: opts.Logger.With("check", c.Target),
		now: opts.Now, rand: opts.Rand, onChange: opts.OnChange,
		hyst: NewHysteresis(c.Rise, c.Fall, initial, now),
		last: Result{Status: initial, Since: now},
	}, nil
}

// newProber is the server-side prober of c under rules, or without rules
// the agent-side one.
func newProber(c record.Check, rules *record.CheckRules) (Prober, error) {
	if rules != nil {
		return NewServerProber(c, *rules)
	}
	return NewProber(c)
}

// checkNormalized rejects the zero values that record.Check.Normalize
// would have replaced.
func checkNormalized(c record.Check) error {
	if c.Interval.D() <= 0 || c.Rise < 1 || c.Fall < 1 {
		return fmt.Errorf("health: check %q: interval %s, rise %d, fall %d: normalize the check first",
			c.Target, c.Interval.D(), c.Rise, c.Fall)
	}
	return nil
}

// Step runs one probe now, applies its result and returns the state after
// it, calling OnChange when the status changed. A probe cut short because ctx
// ended says nothing about the target and is not applied.
func (c *Checker) Step(ctx context.Context) Result {
	c.stepMu.Lock()
	defer c.stepMu.Unlock()
	err := c.probe(ctx, c.log)
	if err != nil && ctx.Err() != nil {
		return c.Status()
	}
	if err != nil {
		c.log.Debug("probe failed", "err", err)
	}
	changed := c.hyst.Observe(err == nil, c.now())
	s, since := c.hyst.Status()
	r := Result{Status: s, Since: since, Err: err}
	c.setLast(r)
	if changed {
		c.report(r)
	}
	return r
}

// report logs a change of status and hands it to OnChange.
func (c *Checker) report(r Result) {
	if r.Err != nil {
		c.log.Info("health status changed", "status", r.Status.String(), "err", r.Err)
	} else {
		c.log.Info("health status changed", "status", r.Status.String())
	}
	if c.onChange != nil {
		c.onChange(r)
	}
}

// Run probes until ctx ends: the first probe after a random delay in
// [0, interval), then one per interval counted from the start of the
// previous one, or at once when that probe ran longer. It returns when ctx
// ends, after any probe in flight (which ctx cuts short) has returned.
func (c *Checker) Run(ctx context.Context) {
	interval := c.check.Interval.D()
	timer := time.NewTimer(c.firstDelay(interval))
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		start := time.Now()
		c.Step(ctx)
		timer.Reset(max(0, interval-time.Since(start)))
	}
}

// firstDelay returns the jittered delay of the first probe, in
// [0, interval).
func (c *Checker) firstDelay(interval time.Duration) time.Duration {
	d := time.Duration(c.rand(int64(interval)))
	return min(max(d, 0), interval)
}

// Status returns the current status, when it was entered and the last
// probe's error. It is safe for concurrent use.
func (c *Checker) Status() Result {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}

// setLast stores r for Status.
func (c *Checker) setLast(r Result) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.last = r
}
