package agent

import (
	"context"
	"fmt"
	"time"
)

// checkDoom finds out, before the first registration, whether this
// instance is going away: a drain remembered from an earlier run on this
// instance and boot, or a termination notice pending now. It sets a.doom.
// A notice that cannot be read is retried: registering a dying instance
// is what this step prevents.
func (a *Agent) checkDoom(ctx context.Context) error {
	d, ok, err := a.cfg.Memory.Recall(a.id.SetID)
	switch {
	case err != nil:
		a.log.Warn("drain memory unreadable; ignoring it", "err", err)
	case ok:
		a.doom = fmt.Sprintf("drained at %s (%s), remembered in %s", d.At.Format(time.RFC3339), d.Reason, a.cfg.Memory.Path())
		return nil
	}
	if a.cfg.Termination == nil {
		return nil
	}
	reason, err := a.cfg.Termination.Pending(ctx)
	if err != nil {
		return fmt.Errorf("termination notices: %w", err)
	}
	if reason != "" {
		a.doom = reason
		a.remember(reason)
	}
	return nil
}

// leaveDoomed is Run for an instance that is going away: it does not
// register, drains a set an earlier run may have left (a crash mid-drain),
// and then runs OnDrained.
func (a *Agent) leaveDoomed(ctx context.Context) error {
	a.log.Warn("this instance is going away; not registering it", "reason", a.doom)
	if a.cfg.Route53 != nil {
		return a.drainR53(ctx)
	}
	renew := time.NewTimer(a.renewInterval())
	defer renew.Stop()
	return a.drainAndLeave(ctx, renew)
}

// noteTermination remembers the drain when the instance is going away (a
// notice is pending), so that a restarted agent does not register it
// again. A plain stop or restart of the agent is not remembered.
func (a *Agent) noteTermination(ctx context.Context) {
	if a.cfg.Termination == nil || a.doom != "" || a.id.SetID == "" {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, a.cfg.RequestTimeout)
	defer cancel()
	reason, err := a.cfg.Termination.Pending(ctx)
	switch {
	case err != nil:
		a.log.Warn("cannot tell whether this instance is going away; the drain is not remembered", "err", err)
	case reason != "":
		if _, ok, _ := a.cfg.Memory.Recall(a.id.SetID); !ok { // keep the first drain's record
			a.remember(reason)
		}
	}
}

// remember writes the drain to the memory file, logging the outcome.
func (a *Agent) remember(reason string) {
	if a.cfg.Memory.Dir == "" {
		return
	}
	if err := a.cfg.Memory.Remember(a.id.SetID, reason); err != nil {
		a.log.Error("the drain is not remembered; a restarted agent may register this instance again", "err", err)
		return
	}
	a.log.Info("drain remembered: a restarted agent will not register this instance", "file", a.cfg.Memory.Path())
}

// afterDrainTimeout bounds OnDrained, which runs on the way out (within
// the 10 s the stop timeout leaves beyond TTL + margin, with the
// deregistration).
const afterDrainTimeout = 5 * time.Second

// afterDrain runs OnDrained once, with a deadline of its own (the run's
// context may be over: a second signal), and logs its error.
func (a *Agent) afterDrain() {
	if a.cfg.OnDrained == nil || a.id.SetID == "" || a.afterDone {
		return
	}
	a.afterDone = true
	ctx, cancel := context.WithTimeout(context.Background(), afterDrainTimeout)
	defer cancel()
	if err := a.cfg.OnDrained(ctx, a.id); err != nil {
		a.log.Error("after the drain", "err", err)
	}
}
