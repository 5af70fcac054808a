package cli

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/dnslb/dnslb/internal/api/client"
	"github.com/dnslb/dnslb/internal/record"
)

// Human forms of a set's runtime status for `record ls`.

// writeSets prints the sets of zone as the table of `record ls`.
func writeSets(w io.Writer, zone string, sets []client.SetView, now time.Time) error {
	t := newTable(w, "NAME", "TYPE", "SET-ID", "WEIGHT", "SHARE", "OBSERVED", "TTL", "STATE", "HEALTH", "LEASE", "LAST-SERVED", "VALUES")
	for _, v := range sets {
		s := v.Set
		setID, weight, share, observed := "-", "-", "-", "-"
		if s.Weighted() {
			setID, weight = s.SetID, fmt.Sprint(s.Weight)
			share, observed = shareText(v.Status), observedText(v.Status)
		}
		t.row(record.Relative(s.Name, zone), string(s.Type), setID, weight, share, observed, fmt.Sprint(s.TTL),
			stateText(v.State, v.Status, now), healthText(v.Status, now), leaseText(s, v.Status), ago(v.Status.LastServed, now),
			strings.Join(s.Values, " "))
	}
	return t.flush()
}

// shareText is the share of the answers the rules give the set now, marked
// when its name fails open (no set eligible, all answered by weight).
func shareText(st record.Status) string {
	text := percent(st.Share)
	if st.FailOpen {
		text += " fail-open"
	}
	return text
}

// observedText is the set's share of its name's answers in the last minute.
func observedText(st record.Status) string {
	if st.ObservedShare == nil {
		return "-"
	}
	return percent(*st.ObservedShare)
}

func percent(f float64) string { return fmt.Sprintf("%.1f%%", 100*f) }

func stateText(state record.State, st record.Status, now time.Time) string {
	if state == record.Draining && st.SafeAt != nil {
		if rem := st.SafeAt.Sub(now); rem > 0 {
			return fmt.Sprintf("draining (safe in %s)", rem.Round(time.Second))
		}
		return "draining (safe)"
	}
	if st.Braked && st.BrakedUntil != nil && st.BrakedUntil.After(now) {
		return fmt.Sprintf("%s (lease lapsed; brake holds it %s more)", state, st.BrakedUntil.Sub(now).Round(time.Second))
	}
	if st.Braked {
		return string(state) + " (lease lapsed; brake letting go)"
	}
	return string(state)
}

func healthText(st record.Status, now time.Time) string {
	if st.HealthSince != nil {
		return fmt.Sprintf("%s %s", st.Health, ago(st.HealthSince, now))
	}
	return st.Health
}

func leaseText(s record.Set, st record.Status) string {
	switch {
	case s.Lease == 0:
		return "-"
	case st.LeaseGrace > 0:
		return fmt.Sprintf("%s/%s +%s restart grace", st.LeaseRemaining.D().Round(time.Second), s.Lease.D(), st.LeaseGrace.D().Round(time.Second))
	case st.LeaseRemaining > 0:
		return fmt.Sprintf("%s/%s", st.LeaseRemaining.D().Round(time.Second), s.Lease.D())
	}
	return "lapsed/" + s.Lease.D().String()
}

// ago is "12s ago", or "-" for never.
func ago(t *time.Time, now time.Time) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	d := now.Sub(*t)
	if d < time.Second {
		return "now"
	}
	return d.Round(time.Second).String() + " ago"
}

// StatusCmd shows the pool: names with their sets, as the status page.
type StatusCmd struct {
	Zone     string        `arg:"" optional:"" help:"Only this zone."`
	Name     string        `arg:"" optional:"" help:"Only names containing this (e.g. www)."`
	Watch    bool          `help:"Refresh every --interval until interrupted."`
	Interval time.Duration `default:"2s" help:"How often --watch refreshes."`
	Page     int           `default:"1" help:"Page of names (--per-page a page)."`
	PerPage  int           `name:"per-page" default:"50" help:"Names a page (at most 200)."`
}

// Run shows the status once, or every interval with --watch.
func (c *StatusCmd) Run(g *Globals) error {
	cl, err := g.client()
	if err != nil {
		return err
	}
	if c.Interval < 100*time.Millisecond {
		return usagef("--interval: %s is too short; at least 100ms", c.Interval)
	}
	for {
		page, err := cl.Status(g.ctx, client.StatusQuery{Zone: c.Zone, Name: c.Name, Page: c.Page, PerPage: c.PerPage})
		if err != nil {
			return err
		}
		if err := c.print(g, page); err != nil || !c.Watch {
			return err
		}
		select {
		case <-time.After(c.Interval):
		case <-g.ctx.Done():
			return nil
		}
	}
}

func (c *StatusCmd) print(g *Globals, page client.StatusPage) error {
	if g.JSON {
		return printJSON(g.stdout, page)
	}
	if c.Watch {
		fmt.Fprint(g.stdout, "\033[H\033[2J") // clear the terminal
	}
	return writeStatus(g.stdout, page)
}

// writeStatus prints a status page for people: a block per name.
func writeStatus(w io.Writer, p client.StatusPage) error {
	fmt.Fprintf(w, "names: %d, page %d of %d, revision %d, %s\n", p.Total, p.Page, p.Pages, p.Revision, p.Now.Format(time.RFC3339))
	if p.Brake.State == "holding" || p.Brake.State == "letting-go" {
		if err := writeBrake(w, p.Brake, p.Now); err != nil {
			return err
		}
	}
	for _, n := range p.Names {
		fmt.Fprintf(w, "\n%s %s (policy %s): %s\n", n.Name, n.Type, n.Policy, n.Tier)
		if n.Alert != "" {
			fmt.Fprintf(w, "!! %s\n", n.Alert)
		}
		if err := writeNameSets(w, n.Sets, p.Now); err != nil {
			return err
		}
	}
	return nil
}

// writeNameSets prints the sets of one name.
func writeNameSets(w io.Writer, sets []client.SetStatus, now time.Time) error {
	t := newTable(w, "  SET-ID", "WEIGHT", "SHARE", "OBSERVED", "STATE", "HEALTH", "LEASE", "LAST-SERVED", "VALUES")
	for _, s := range sets {
		id := s.SetID
		if id == "" {
			id = "-"
		}
		health := healthText(s.Status, now)
		if s.HealthError != "" {
			health += ": " + s.HealthError
		}
		set := record.Set{Lease: s.Lease}
		t.row("  "+id, fmt.Sprint(s.Weight), shareText(s.Status), observedText(s.Status),
			stateText(record.State(s.State), s.Status, now), health, leaseText(set, s.Status), ago(s.LastServed, now), strings.Join(s.Values, " "))
	}
	return t.flush()
}
