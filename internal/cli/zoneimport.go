package cli

import (
	"fmt"
	"os"

	"github.com/dnslb/dnslb/internal/api/client"
	"github.com/dnslb/dnslb/internal/registry"
	"github.com/dnslb/dnslb/internal/route53api"
)

// ZoneImportCmd loads record sets into a zone.
type ZoneImportCmd struct {
	Zone        string `arg:"" help:"Zone to load into (created if missing)."`
	FromRoute53 string `name:"from-route53" required:"" type:"existingfile" placeholder:"FILE" help:"JSON printed by 'aws route53 list-resource-record-sets --hosted-zone-id ID' ('-' is not allowed: give a file)."`
}

// Run reads the file, checks every set, then upserts them: in one atomic
// batch when there are at most 1,000, else in batches of 1,000.
func (c *ZoneImportCmd) Run(g *Globals) error {
	data, err := os.ReadFile(c.FromRoute53)
	if err != nil {
		return err
	}
	sets, skipped, err := route53api.ParseRecordSets(data, c.Zone)
	if err != nil {
		return fmt.Errorf("%s: %w; nothing was imported", c.FromRoute53, err)
	}
	cl, err := g.client()
	if err != nil {
		return err
	}
	if _, err := cl.Zone(g.ctx, c.Zone); err != nil {
		if _, err := cl.CreateZone(g.ctx, client.ZoneRequest{Name: c.Zone}); err != nil {
			return err
		}
	}
	changes := importChanges(sets)
	for start := 0; start < len(changes); start += registry.MaxChanges {
		end := min(start+registry.MaxChanges, len(changes))
		if _, err := cl.Change(g.ctx, c.Zone, client.ChangeBatch{Changes: changes[start:end]}); err != nil {
			return fmt.Errorf("importing sets %d..%d of %d (those before are imported): %w", start+1, end, len(changes), err)
		}
	}
	if g.JSON {
		return printJSON(g.stdout, map[string]any{"zone": c.Zone, "imported": len(changes), "skipped_apex": skipped})
	}
	_, err = fmt.Fprintf(g.stdout, "imported %d record sets into %s (skipped the apex SOA and NS: %d; the zone has its own)\n", len(changes), c.Zone, skipped)
	return err
}

func importChanges(sets []route53api.Imported) []client.Change {
	out := make([]client.Change, len(sets))
	for i, imp := range sets {
		s := imp.Set
		ttl := int64(s.TTL)
		req := client.SetRequest{Name: s.Name, Type: string(s.Type), SetID: s.SetID, TTL: &ttl, Values: s.Values, Policy: imp.Policy}
		if s.SetID != "" {
			w := s.Weight
			req.Weight = &w
		}
		out[i] = client.Change{Action: "UPSERT", RRSet: req}
	}
	return out
}
