package cli

import (
	"fmt"
	"time"

	"github.com/dnslb/dnslb/internal/api/client"
	"github.com/dnslb/dnslb/internal/record"
)

// setArgs name one record set.
type setArgs struct {
	Zone  string `arg:"" help:"Zone."`
	Name  string `arg:"" help:"Name, relative or fully qualified."`
	Type  string `arg:"" help:"Record type."`
	SetID string `name:"set-id" help:"Set identifier; omit for a simple record."`
}

// RecordRenewCmd renews a lease.
type RecordRenewCmd struct {
	setArgs
	Unhealthy bool `help:"Report the instance unhealthy: the set leaves answers until a renewal without this flag."`
}

// Run renews the lease.
func (c *RecordRenewCmd) Run(g *Globals) error {
	cl, err := g.client()
	if err != nil {
		return err
	}
	healthy := !c.Unhealthy
	st, err := cl.Renew(g.ctx, c.Zone, c.Name, c.Type, c.SetID, &healthy)
	if err != nil {
		return err
	}
	if g.JSON {
		return printJSON(g.stdout, st)
	}
	_, err = fmt.Fprintf(g.stdout, "renewed %s: lease %s, state %s\n", st.Key, st.Lease.D(), st.State)
	return err
}

// RecordDrainCmd drains a set.
type RecordDrainCmd struct {
	setArgs
	Wait   bool          `help:"Wait until the drain is complete, printing progress."`
	Keep   bool          `help:"Keep the set at weight 0 afterwards instead of removing it."`
	Margin time.Duration `default:"-1ns" help:"Safety margin added to the TTL (default: the server's, 5s)."`
	Poll   time.Duration `default:"10s" hidden:"" help:"Longest time between two readings of the drain (and progress lines)."`
}

// Run starts the drain and, with --wait, follows it to the end.
func (c *RecordDrainCmd) Run(g *Globals) error {
	cl, err := g.client()
	if err != nil {
		return err
	}
	req := client.DrainRequest{Keep: c.Keep}
	if c.Margin >= 0 {
		m := record.Duration(c.Margin)
		req.Margin = &m
	}
	st, err := cl.Drain(g.ctx, c.Zone, c.Name, c.Type, c.SetID, req)
	if err != nil {
		return err
	}
	if g.JSON && !c.Wait {
		return printJSON(g.stdout, st)
	}
	fmt.Fprintf(g.stdout, "draining %s: out of new answers; %s\n", st.Key, safeText(st))
	if !c.Wait {
		return nil
	}
	return c.wait(g, cl)
}

func safeText(st record.DrainStatus) string {
	if st.LastServed == nil {
		return fmt.Sprintf("never served, safe at %s", st.SafeAt.Format(time.TimeOnly))
	}
	ttl := fmt.Sprintf("with TTL %ds", st.TTL)
	if st.ServedTTL != 0 && st.ServedTTL != st.TTL { // the group's TTL changed: resolvers hold the served one
		ttl = fmt.Sprintf("(TTL %ds now; answers with TTL %ds may still be cached)", st.TTL, st.ServedTTL)
	}
	return fmt.Sprintf("last served %s %s, safe at %s (in %s)",
		st.LastServed.Format(time.TimeOnly), ttl, st.SafeAt.Format(time.TimeOnly), st.Remaining.D().Round(time.Second))
}

// wait polls the drain until the server has removed the set (or put it
// back at weight 0), printing a countdown at most every --poll (10s): it
// reads the drain again at safe_at, or after --poll when that is sooner.
func (c *RecordDrainCmd) wait(g *Globals, cl *client.Client) error {
	t := time.NewTimer(c.Poll)
	defer t.Stop()
	for {
		st, err := cl.DrainStatus(g.ctx, c.Zone, c.Name, c.Type, c.SetID)
		switch {
		case client.IsCode(err, client.CodeNotFound):
			_, err = fmt.Fprintln(g.stdout, "drained: the set is removed; no client can still hold it")
			return err
		case err != nil:
			return err
		case st.Done:
			_, err = fmt.Fprintln(g.stdout, "drained: the set stays at weight 0")
			return err
		}
		next := removalPoll // safe_at passed: the server removes the set within a tick
		if rem := st.Remaining.D(); rem > 0 {
			fmt.Fprintf(g.stdout, "waiting: safe in %s\n", rem.Round(time.Second))
			next = min(rem, c.Poll)
		}
		t.Reset(next)
		select {
		case <-t.C:
		case <-g.ctx.Done():
			return fmt.Errorf("stopped waiting; the drain goes on on the server: %w", g.ctx.Err())
		}
	}
}

// removalPoll is how often a drain past its safe_at is read until the
// server has removed the set.
const removalPoll = 100 * time.Millisecond

// RecordHealthCmd overrides health.
type RecordHealthCmd struct {
	setArgs
	Force string `required:"" enum:"up,down,auto" help:"up or down overrides checks; auto returns to them."`
}

// Run sets the override.
func (c *RecordHealthCmd) Run(g *Globals) error {
	cl, err := g.client()
	if err != nil {
		return err
	}
	if err := cl.Force(g.ctx, c.Zone, c.Name, c.Type, c.SetID, c.Force); err != nil {
		return err
	}
	_, err = fmt.Fprintf(g.stdout, "health of %s %s set %s: %s\n", c.Name, c.Type, c.SetID, c.Force)
	return err
}
