package cli

import (
	"fmt"
	"strings"

	"github.com/dnslb/dnslb/internal/api/client"
)

// ZoneCmd groups the zone commands.
type ZoneCmd struct {
	Create ZoneCreateCmd `cmd:"" help:"Create a zone with SOA and NS records."`
	Ls     ZoneLsCmd     `cmd:"" aliases:"list" help:"List zones."`
	Rm     ZoneRmCmd     `cmd:"" aliases:"delete" help:"Delete a zone (one with record sets only with --force)."`
	Import ZoneImportCmd `cmd:"" help:"Load record sets into a zone: from the JSON of 'aws route53 list-resource-record-sets' (--from-route53)."`
}

// ZoneCreateCmd creates a zone.
type ZoneCreateCmd struct {
	Name        string   `arg:"" help:"Zone name, e.g. lb.example.com."`
	NS          []string `name:"ns" help:"Name server of the zone (repeatable); default ns1.<zone>."`
	Hostmaster  string   `help:"SOA contact; default hostmaster.<zone>."`
	NegativeTTL *uint32  `name:"negative-ttl" help:"SOA minimum: how long resolvers cache 'no such record' (seconds, default 5)."`
}

// Run creates the zone.
func (c *ZoneCreateCmd) Run(g *Globals) error {
	cl, err := g.client()
	if err != nil {
		return err
	}
	z, err := cl.CreateZone(g.ctx, client.ZoneRequest{Name: c.Name, NS: c.NS, Hostmaster: c.Hostmaster, NegativeTTL: c.NegativeTTL})
	if err != nil {
		return err
	}
	if g.JSON {
		return printJSON(g.stdout, z)
	}
	_, err = fmt.Fprintf(g.stdout, "created zone %s (ns %s, negative TTL %ds)%s\n", z.Name, strings.Join(z.NS, " "), z.SOA.Minimum, pendingNote(z.Pending))
	return err
}

// ZoneLsCmd lists zones.
type ZoneLsCmd struct{}

// Run lists the zones.
func (c *ZoneLsCmd) Run(g *Globals) error {
	cl, err := g.client()
	if err != nil {
		return err
	}
	zones, err := cl.Zones(g.ctx)
	if err != nil {
		return err
	}
	if g.JSON {
		return printJSON(g.stdout, zones)
	}
	t := newTable(g.stdout, "ZONE", "NS", "SERIAL", "NEGATIVE-TTL", "POLICIES")
	for _, z := range zones {
		name := z.Name
		if z.Deleting {
			name += " (deleting)"
		}
		t.row(name, strings.Join(z.NS, ","), fmt.Sprint(z.SOA.Serial), fmt.Sprintf("%ds", z.SOA.Minimum), fmt.Sprint(len(z.Policies)))
	}
	return t.flush()
}

// ZoneRmCmd deletes a zone.
type ZoneRmCmd struct {
	Name  string `arg:"" help:"Zone to delete."`
	Force bool   `help:"Delete the zone even if it holds record sets, with them."`
}

// Run deletes the zone.
func (c *ZoneRmCmd) Run(g *Globals) error {
	cl, err := g.client()
	if err != nil {
		return err
	}
	res, err := cl.DeleteZone(g.ctx, c.Name, c.Force)
	if err != nil {
		return err
	}
	if g.JSON {
		return printJSON(g.stdout, map[string]any{"deleted": c.Name, "pending": res.IsPending()})
	}
	_, err = fmt.Fprintf(g.stdout, "deleted zone %s%s\n", c.Name, pendingNote(res.Pending))
	return err
}

// pendingNote says, after a write's confirmation, that DNS answers do not
// carry it yet; empty when they do.
func pendingNote(p client.Pending) string {
	if !p.IsPending() {
		return ""
	}
	return "; committed, but not yet in DNS answers: they will carry it without anything more being done"
}
