package cli

import (
	"fmt"
	"io"
	"time"

	"github.com/dnslb/dnslb/internal/record"
)

// HistoryCmd lists the transitions of a name's sets, kept by the server.
type HistoryCmd struct {
	Zone  string `arg:"" help:"Zone, e.g. lb.example.com."`
	Name  string `arg:"" help:"Name, relative to the zone or absolute."`
	Type  string `arg:"" optional:"" help:"Only this record type."`
	SetID string `name:"set-id" help:"Only this set."`
}

// Run lists the history.
func (c *HistoryCmd) Run(g *Globals) error {
	cl, err := g.client()
	if err != nil {
		return err
	}
	trs, err := cl.History(g.ctx, c.Zone, c.Name, c.Type, c.SetID)
	if err != nil {
		return err
	}
	if g.JSON {
		return printJSON(g.stdout, trs)
	}
	return writeHistory(g.stdout, trs)
}

// writeHistory prints transitions for people, oldest first.
func writeHistory(w io.Writer, trs []record.Transition) error {
	if len(trs) == 0 {
		_, err := fmt.Fprintln(w, "no transitions recorded")
		return err
	}
	t := newTable(w, "TIME", "TYPE", "SET-ID", "EVENT", "BY", "REVISION", "DETAIL")
	for _, tr := range trs {
		by := tr.By
		if by == "" {
			by = "-"
		}
		t.row(tr.At.UTC().Format(time.RFC3339), string(tr.Key.Type), tr.Key.SetID, string(tr.Event), by, fmt.Sprint(tr.Revision), tr.Detail)
	}
	return t.flush()
}
