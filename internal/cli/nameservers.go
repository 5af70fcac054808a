package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"

	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/registry"
)

// seedZones are the zones of --zone as serve creates them when missing:
// every --ns name server, each with its addresses in the zone it lies in.
// Addresses of a name server inside none of them are refused.
func (c *ServeCmd) seedZones() ([]record.Zone, error) {
	var zones []record.Zone
	used := map[string]bool{}
	for _, name := range c.Zone {
		z, err := c.seedZone(name, used)
		if err != nil {
			return nil, err
		}
		zones = append(zones, z)
	}
	for _, ns := range c.NS {
		if name, addrs := record.ParseNameServer(ns); addrs != nil && !used[record.Fqdn(name)] {
			return nil, fmt.Errorf("--ns %s: addresses are for name servers inside a zone served here (--zone); %s is inside none, so it takes none", ns, name)
		}
	}
	return zones, nil
}

// seedZone is zone name with the --ns name servers, validated; used
// collects the name servers given addresses.
func (c *ServeCmd) seedZone(name string, used map[string]bool) (record.Zone, error) {
	origin, err := record.ZoneName("name", name)
	if err != nil {
		return record.Zone{}, fmt.Errorf("--zone %s: %w", name, err)
	}
	z := record.NewZone(origin)
	if len(c.NS) > 0 {
		z.NS, z.NSAddresses = nil, map[string][]string{}
	}
	for _, ns := range c.NS {
		host, addrs := record.ParseNameServer(ns)
		z.NS = append(z.NS, host)
		if fq := record.Fqdn(host); addrs != nil && record.InZone(fq, origin) {
			z.NSAddresses[host] = addrs
			used[fq] = true
		}
	}
	if err := z.Validate(); err != nil {
		return record.Zone{}, fmt.Errorf("--zone %s --ns %s: %w", name, strings.Join(c.NS, " --ns "), err)
	}
	return z, nil
}

// ensureZone creates z unless a zone of its name exists. That one is kept
// as it is (--ns applies to zones serve creates); when --ns was given
// (explicit) and differs from it, a warning says so.
func ensureZone(ctx context.Context, log *slog.Logger, reg *registry.Registry, z record.Zone, explicit bool) error {
	_, err := reg.CreateZone(ctx, z)
	if !errors.Is(err, registry.ErrExists) {
		return err
	}
	if old, err := reg.Zone(ctx, z.Name); err == nil && explicit && !sameNameServers(&old, &z) {
		log.Warn("the zone exists with other name servers than --ns gives; it is left as it is (--ns applies to zones serve creates; to change them: dnslb zone rm, then dnslb zone create with --ns)",
			"zone", z.Name, "stored", nameServers(&old, " "), "flags", nameServers(&z, " "))
	}
	return nil
}

// sameNameServers reports whether a and b list the same name servers with
// the same addresses, in the same order.
func sameNameServers(a, b *record.Zone) bool {
	return slices.Equal(a.NS, b.NS) && maps.EqualFunc(a.NSAddresses, b.NSAddresses, slices.Equal)
}
