package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/dnslb/dnslb/internal/api/client"
	"github.com/dnslb/dnslb/internal/record"
)

// RecordCmd groups the record set commands.
type RecordCmd struct {
	Set    RecordSetCmd    `cmd:"" help:"Create or replace a record set."`
	Rm     RecordRmCmd     `cmd:"" aliases:"delete" help:"Remove a record set at once (see drain for a graceful exit)."`
	Ls     RecordLsCmd     `cmd:"" aliases:"list" help:"List record sets with state, health, lease and last-served time."`
	Renew  RecordRenewCmd  `cmd:"" help:"Renew the lease of a record set (what the agent does)."`
	Drain  RecordDrainCmd  `cmd:"" help:"Take a record set out of new answers and remove it once no client can hold it."`
	Health RecordHealthCmd `cmd:"" help:"Override a record set's health: up, down or auto."`
}

// RecordSetCmd creates or replaces one record set.
type RecordSetCmd struct {
	Zone   string        `arg:"" help:"Zone, e.g. lb.example.com."`
	Name   string        `arg:"" help:"Name, relative to the zone (www, @ for the apex) or fully qualified."`
	Type   string        `arg:"" help:"Record type: A, AAAA, CNAME, TXT, MX, SRV."`
	SetID  string        `name:"set-id" help:"Set identifier (1..128 characters) of a weighted set; without it the set is a simple record."`
	Weight *int          `help:"Weight 0..255 of a weighted set (required with --set-id)."`
	TTL    *int64        `name:"ttl" help:"TTL in seconds; the weighted sets of a name share the last one given (default: the set's or its group's, else 300)."`
	Value  []string      `required:"" sep:"none" help:"A value (repeatable): an address, a host name, 'PRIORITY HOST' for MX, 'PRIORITY WEIGHT PORT TARGET' for SRV, text for TXT."`
	Policy string        `enum:",weighted,multivalue,fail-closed" default:"" help:"Routing policy of the name: weighted (default), multivalue or fail-closed."`
	Lease  time.Duration `help:"Lease: the set leaves answers unless renewed within this time (e.g. 15s); 0 for none."`
	checkFlags
}

// checkFlags configure a server-side health check.
type checkFlags struct {
	Check          string        `help:"Health check: http://HOST:PORT/PATH, https://HOST:PORT/PATH or tcp://HOST:PORT; without HOST (http://:8080/health) it probes each value of the set. HOST must be one of them unless allowed by serve --check-allow."`
	CheckInterval  time.Duration `help:"Time between probes (default 10s)."`
	CheckTimeout   time.Duration `help:"Probe timeout (default 2s, or the interval when shorter)."`
	Rise           int           `help:"Passing probes in a row that make the set healthy (default 2)."`
	Fall           int           `help:"Failing probes in a row that make the set unhealthy (default 3)."`
	CheckMatch     string        `help:"String the HTTP body must contain in its first 5,120 bytes."`
	CheckVerifyTLS bool          `name:"check-verify-tls" help:"Verify HTTPS certificates (off by default, as in Route 53)."`
	StartUnhealthy bool          `help:"A new set is unhealthy until its first results (default: healthy)."`
}

func (f *checkFlags) check() *record.Check {
	if f.Check == "" {
		return nil
	}
	return &record.Check{Target: f.Check, Interval: record.Duration(f.CheckInterval), Timeout: record.Duration(f.CheckTimeout),
		Rise: f.Rise, Fall: f.Fall, Match: f.CheckMatch, VerifyTLS: f.CheckVerifyTLS, StartUnhealthy: f.StartUnhealthy}
}

// validate refuses, naming the flags, what the server would refuse
// naming its fields.
func (c *RecordSetCmd) validate() error {
	switch {
	case c.SetID != "" && c.Weight == nil:
		return usagef("--weight is required with --set-id; allowed 0..%d", record.MaxWeight)
	case c.SetID == "" && c.Weight != nil:
		return usagef("--weight needs --set-id; a set without --set-id is a simple record")
	}
	return nil
}

// Run writes the set.
func (c *RecordSetCmd) Run(g *Globals) error {
	if err := c.validate(); err != nil {
		return err
	}
	cl, err := g.client()
	if err != nil {
		return err
	}
	req := client.SetRequest{Name: c.Name, Type: c.Type, SetID: c.SetID, Weight: c.Weight, TTL: c.TTL,
		Values: c.Value, Policy: record.Policy(c.Policy), Check: c.check()}
	if c.Lease != 0 {
		lease := record.Duration(c.Lease)
		req.Lease = &lease
	}
	res, err := cl.PutSet(g.ctx, c.Zone, req)
	if err != nil {
		return err
	}
	if g.JSON {
		return printJSON(g.stdout, res)
	}
	s := res.RRSet
	_, err = fmt.Fprintf(g.stdout, "set %s (ttl %d, %s) at revision %d\n", describe(s), s.TTL, strings.Join(s.Values, " "), res.Revision)
	return err
}

func describe(s record.Set) string {
	d := s.Name + " " + string(s.Type)
	if s.Weighted() {
		d += fmt.Sprintf(" set %s weight %d", s.SetID, s.Weight)
	}
	return d
}

// RecordRmCmd removes one record set.
type RecordRmCmd struct {
	setArgs
}

// Run removes the set.
func (c *RecordRmCmd) Run(g *Globals) error {
	cl, err := g.client()
	if err != nil {
		return err
	}
	res, err := cl.DeleteSet(g.ctx, c.Zone, c.Name, c.Type, c.SetID)
	if err != nil {
		return err
	}
	if g.JSON {
		return printJSON(g.stdout, res)
	}
	what := c.Name + " " + strings.ToUpper(c.Type)
	if c.SetID != "" {
		what += " set " + c.SetID
	}
	_, err = fmt.Fprintf(g.stdout, "removed %s at revision %d\n", what, res.Revision)
	return err
}

// RecordLsCmd lists record sets.
type RecordLsCmd struct {
	Zone  string `arg:"" help:"Zone."`
	Name  string `arg:"" optional:"" help:"Only this name."`
	Type  string `arg:"" optional:"" help:"Only this type."`
	SetID string `name:"set-id" help:"Only this set identifier."`
}

// Run lists the sets.
func (c *RecordLsCmd) Run(g *Globals) error {
	cl, err := g.client()
	if err != nil {
		return err
	}
	sets, err := cl.Sets(g.ctx, c.Zone, c.Name, c.Type, c.SetID)
	if err != nil {
		return err
	}
	if g.JSON {
		return printJSON(g.stdout, sets)
	}
	return writeSets(g.stdout, record.Fqdn(c.Zone), sets, time.Now())
}
