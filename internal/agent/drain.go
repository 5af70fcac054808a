package agent

import (
	"context"
	"time"

	"github.com/dnslb/dnslb/internal/api/client"
	"github.com/dnslb/dnslb/internal/record"
)

// defaultMargin is the drain margin when the server's default applies
// (Config.Margin < 0) but the agent waits by itself.
const defaultMargin = 5 * time.Second

// drainAndLeave drains through the server, waits until safe_at (renewing
// the lease meanwhile), deregisters and runs OnDrained. A second signal
// (ctx) cuts the wait short. When the server cannot be reached, or stops
// answering during the drain, the agent waits TTL + margin itself. A set
// the server does not know needs no drain.
func (a *Agent) drainAndLeave(ctx context.Context, renew *time.Timer) error {
	a.draining = true
	req := client.DrainRequest{}
	if a.cfg.Margin >= 0 {
		m := record.Duration(a.cfg.Margin)
		req.Margin = &m
	}
	var st record.DrainStatus
	_, err := a.srv.call(ctx, func(ctx context.Context, c *client.Client) (err error) {
		st, err = c.Drain(ctx, a.cfg.Zone, a.cfg.Name, a.typ, a.id.SetID, req)
		return err
	})
	a.noteTermination(ctx)
	switch {
	case client.IsCode(err, client.CodeNotFound):
		a.log.Info("not registered: nothing to drain")
		a.afterDrain()
		return nil
	case err != nil:
		return a.blindDrain(ctx, err)
	}
	a.log.Info("draining: out of new answers", "safe_at", st.SafeAt, "remaining", st.Remaining.D().String())
	return a.followDrain(ctx, st.Remaining.D(), renew)
}

// followDrain polls the drain until it is complete, renewing the lease
// meanwhile. However the servers fare, the drain is over once both the
// server's remaining time and TTL + margin have passed.
func (a *Agent) followDrain(ctx context.Context, remaining time.Duration, renew *time.Timer) error {
	latest := time.Now().Add(max(remaining, a.blindWait()))
	polls := outage{what: "drain status", lost: "cannot read the drain; retrying until TTL + margin has passed",
		back: "drain status readable again", bo: backoff{cfg: a.cfg.Backoff}}
	poll := time.NewTimer(a.pollIn(remaining))
	defer poll.Stop()
	for {
		select {
		case <-poll.C:
			remaining, done, err := a.drainDone(ctx)
			switch {
			case done:
				return a.leave()
			case err != nil && !time.Now().Before(latest):
				a.log.Warn("the drain cannot be read but TTL + margin has passed; leaving", "err", err)
				return a.leave()
			case err != nil:
				remaining = min(polls.failed(a.log, err), time.Until(latest))
			default:
				polls.ok(a.log)
			}
			poll.Reset(a.pollIn(remaining))
		case <-renew.C:
			next, _ := a.renewOrBackoff(ctx) // no error while draining
			renew.Reset(next)
		case <-ctx.Done():
			a.log.Warn("second signal: leaving before the drain is complete")
			a.deregisterNow()
			a.afterDrain()
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
	var st record.DrainStatus
	_, err := a.srv.call(ctx, func(ctx context.Context, c *client.Client) (err error) {
		st, err = c.DrainStatus(ctx, a.cfg.Zone, a.cfg.Name, a.typ, a.id.SetID)
		return err
	})
	if client.IsCode(err, client.CodeNotFound) {
		return 0, true, nil
	}
	if err != nil {
		return a.cfg.PollDrain, false, err
	}
	if st.Done || (!st.SafeAt.IsZero() && st.Remaining == 0) {
		return 0, true, nil
	}
	a.log.Info("draining", "safe_in", st.Remaining.D().Round(100*time.Millisecond).String())
	return st.Remaining.D(), false, nil
}

// blindWait is TTL + margin: how long clients may hold the address after
// it left answers, when the server cannot say.
func (a *Agent) blindWait() time.Duration {
	margin := a.cfg.Margin
	if margin < 0 {
		margin = defaultMargin
	}
	return time.Duration(a.cfg.TTL)*time.Second + margin
}

// blindDrain is the fallback when the server cannot be told: deregister,
// then wait TTL + margin as the seed recipe did. The deregistration is
// retried, through every server, until it succeeds or the wait is over: a
// server back meanwhile drops the set at once rather than after its
// restart grace and the lease.
func (a *Agent) blindDrain(ctx context.Context, cause error) error {
	wait := a.blindWait()
	a.log.Error("drain through the server failed; deregistering and waiting TTL + margin", "err", cause, "wait", wait.String())
	if !a.deregisterUntil(ctx, time.Now().Add(wait)) {
		a.log.Error("deregistering failed; the lease will remove the set")
	}
	a.afterDrain()
	return nil
}

// deregisterUntil deletes the set, retrying with backoff until a server
// answers, and returns at deadline (or when ctx ends). It reports whether
// the set is gone.
func (a *Agent) deregisterUntil(ctx context.Context, deadline time.Time) bool {
	tries := outage{what: "deregistration", lost: "deregistering failed; retrying until TTL + margin has passed",
		back: "deregistered after retries", bo: backoff{cfg: a.cfg.Backoff}}
	gone := false
	// The first try is made even when ctx is over already (a second
	// signal): only the retries give way to it.
	for {
		wait := time.Until(deadline)
		if !gone {
			err := a.deregister()
			if gone = err == nil; gone {
				tries.ok(a.log)
			} else {
				wait = min(wait, tries.failed(a.log, err))
			}
		}
		if wait <= 0 {
			return gone
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return gone
		}
	}
}

func (a *Agent) leave() error {
	a.deregisterNow()
	a.log.Info("drained: no client can still hold this address")
	a.afterDrain()
	return nil
}

// deregisterNow deletes the set, if it is still there, logging a failure.
func (a *Agent) deregisterNow() {
	if err := a.deregister(); err != nil {
		a.log.Error("deregistering failed; the lease will remove the set", "err", err)
	}
}

// deregister deletes the set through the first server that answers, each
// try with its deadline (the run's ctx may be over already). A set already
// gone is no error.
func (a *Agent) deregister() error {
	_, err := a.srv.call(context.Background(), func(ctx context.Context, c *client.Client) error {
		_, err := c.DeleteSet(ctx, a.cfg.Zone, a.cfg.Name, a.typ, a.id.SetID)
		return err
	})
	switch {
	case err == nil:
		a.log.Info("deregistered")
	case client.IsCode(err, client.CodeNotFound):
		a.log.Info("deregistered", "already_gone", true) // the server ended the drain itself
		return nil
	}
	return err
}
