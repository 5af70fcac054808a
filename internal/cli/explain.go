package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/dnslb/dnslb/internal/record"
)

// ExplainCmd says why each set of a name is or is not answered.
type ExplainCmd struct {
	Name string `arg:"" help:"The name, e.g. www.lb.example.com."`
	Type string `arg:"" optional:"" default:"A" help:"Record type (default A)."`
}

// Run explains the name.
func (c *ExplainCmd) Run(g *Globals) error {
	cl, err := g.client()
	if err != nil {
		return err
	}
	ex, err := cl.Explain(g.ctx, c.Name, c.Type)
	if err != nil {
		return err
	}
	if g.JSON {
		return printJSON(g.stdout, ex)
	}
	return writeExplanation(g.stdout, ex)
}

// writeExplanation prints an explanation for people.
func writeExplanation(w io.Writer, ex record.Explanation) error {
	fmt.Fprintf(w, "%s %s in zone %s, policy %s: fails %s when no set is eligible\n", ex.Name, ex.Type, ex.Zone, ex.Policy, ex.Failure)
	fmt.Fprintf(w, "%s\n\n", ex.Summary)
	t := newTable(w, "SET-ID", "WEIGHT", "ELIGIBLE", "ANSWERED", "PROBABILITY", "WHY", "VALUES")
	for _, s := range ex.Sets {
		why := strings.Join(s.Reasons, "; ")
		if why == "" {
			why = "-"
		}
		id := s.SetID
		if id == "" {
			id = "-"
		}
		t.row(id, fmt.Sprint(s.Weight), yesNo(s.Eligible), yesNo(s.InAnswers), percent(s.Probability), why, strings.Join(s.Values, " "))
	}
	return t.flush()
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
