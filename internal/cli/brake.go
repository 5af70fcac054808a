package cli

import (
	"fmt"
	"io"
	"time"

	"github.com/dnslb/dnslb/internal/record"
)

// BrakeCmd groups the mass-expiry brake commands.
type BrakeCmd struct {
	Status  BrakeStatusCmd  `cmd:"" default:"1" help:"Show the mass-expiry brake: off, or holding lapsed leases in answers (since, until, how many)."`
	Release BrakeReleaseCmd `cmd:"" help:"Release the brake: the lapsed sets it holds leave answers now."`
}

// BrakeStatusCmd shows the brake.
type BrakeStatusCmd struct{}

// Run shows the brake.
func (c *BrakeStatusCmd) Run(g *Globals) error {
	cl, err := g.client()
	if err != nil {
		return err
	}
	st, err := cl.Brake(g.ctx)
	if err != nil {
		return err
	}
	return printBrake(g, st)
}

// BrakeReleaseCmd releases the brake.
type BrakeReleaseCmd struct{}

// Run releases the brake.
func (c *BrakeReleaseCmd) Run(g *Globals) error {
	cl, err := g.client()
	if err != nil {
		return err
	}
	st, err := cl.ReleaseBrake(g.ctx)
	if err != nil {
		return err
	}
	return printBrake(g, st)
}

func printBrake(g *Globals, st record.BrakeStatus) error {
	if g.JSON {
		return printJSON(g.stdout, st)
	}
	return writeBrake(g.stdout, st, time.Now())
}

// writeBrake is the brake for people.
func writeBrake(w io.Writer, st record.BrakeStatus, now time.Time) error {
	line := fmt.Sprintf("brake %s: %d of %d leases renewing", st.State, st.Renewing, st.Leases)
	switch {
	case st.Since != nil && st.Until != nil && st.State == "holding":
		line += fmt.Sprintf("; holding %d lapsed sets in answers since %s, expiry resumes in %s (dnslb brake release ends it now)",
			st.Held, ago(st.Since, now), st.Until.Sub(now).Round(time.Second))
	case st.State == "letting-go":
		line += fmt.Sprintf("; --brake-max passed, %d held sets expiring now", st.Held)
	case st.Reason != "":
		line += "; last let go: " + st.Reason
	}
	_, err := fmt.Fprintln(w, line)
	return err
}
