package registry

import (
	"context"
	"errors"
	"fmt"

	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/store"
)

// CreateZone validates z and creates it; it fails with ErrExists when a zone
// of that name is there already. Unset SOA and NS fields take the defaults
// of record.NewZone.
func (r *Registry) CreateZone(ctx context.Context, z record.Zone) (record.Zone, error) {
	name, err := record.ZoneName("name", z.Name)
	if err != nil {
		return record.Zone{}, err
	}
	z = withDefaults(z, record.NewZone(name))
	if err := z.Validate(); err != nil {
		return record.Zone{}, err
	}
	z.Created = r.now()
	rev, err := r.store.Update(ctx, func(tx store.Tx) error {
		if _, err := tx.Zone(z.Name); err == nil {
			return fmt.Errorf("zone %s: %w", z.Name, ErrExists)
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err := checkNoHidden(tx, z.Name); err != nil {
			return err
		}
		return tx.PutZone(z)
	})
	if err != nil {
		return record.Zone{}, err
	}
	z.Revision = rev
	if err := r.waitPublished(ctx, rev); err != nil {
		return record.Zone{}, err
	}
	r.servedSerial(&z)
	return z, nil
}

// EnsureZone creates zone name with default SOA and NS unless it exists.
func (r *Registry) EnsureZone(ctx context.Context, name string) error {
	_, err := r.CreateZone(ctx, record.Zone{Name: name})
	if errors.Is(err, ErrExists) {
		return nil
	}
	return err
}

func withDefaults(z, def record.Zone) record.Zone {
	def.Policies, def.Route53 = z.Policies, z.Route53
	if len(z.NS) > 0 {
		def.NS = z.NS
	}
	s, d := z.SOA, &def.SOA
	for _, f := range []struct {
		v   string
		dst *string
	}{{s.MName, &d.MName}, {s.RName, &d.RName}} {
		if f.v != "" {
			*f.dst = f.v
		}
	}
	for _, f := range []struct {
		v   uint32
		dst *uint32
	}{{s.Serial, &d.Serial}, {s.Refresh, &d.Refresh}, {s.Retry, &d.Retry}, {s.Expire, &d.Expire}, {s.Minimum, &d.Minimum}, {s.TTL, &d.TTL}} {
		if f.v != 0 {
			*f.dst = f.v
		}
	}
	return def
}

// Zones returns every zone ordered by name.
func (r *Registry) Zones(ctx context.Context) ([]record.Zone, error) {
	var zones []record.Zone
	_, err := r.store.View(ctx, func(tx store.ReadTx) (err error) {
		zones, err = tx.Zones()
		return err
	})
	for i := range zones {
		r.servedSerial(&zones[i])
	}
	return zones, err
}

// Zone returns zone name.
func (r *Registry) Zone(ctx context.Context, name string) (record.Zone, error) {
	zoneName, err := record.ZoneName("zone", name)
	if err != nil {
		return record.Zone{}, err
	}
	var z record.Zone
	_, err = r.store.View(ctx, func(tx store.ReadTx) (err error) {
		z, err = zoneOf(tx, zoneName)
		return err
	})
	r.servedSerial(&z)
	return z, err
}

// servedSerial sets the SOA serial of z to the one DNS answers with: the
// stored serial when one was set, else (the default, 1) the store revision
// of the zone's last change, which the snapshot follows.
func (r *Registry) servedSerial(z *record.Zone) {
	if snap := r.Load(); snap != nil {
		if serial, ok := snap.Serial(z.Name); ok {
			z.SOA.Serial = serial
		}
	}
}

// Filter narrows Sets. Empty fields match everything.
type Filter struct {
	Name  string // relative or absolute
	Type  string
	SetID string
}

// Sets lists the record sets of zone that match f, ordered by name, type
// and set id.
func (r *Registry) Sets(ctx context.Context, zone string, f Filter) ([]record.Set, error) {
	p, err := r.SetsPage(ctx, zone, f, record.Key{}, 0)
	return p.Sets, err
}

// Page is one page of a listing. More reports that sets follow the last
// one; the next page starts after its key.
type Page struct {
	Sets []record.Set
	More bool
}

// pageChunk is how many sets SetsPage reads from the store at a time when
// a filter may skip many of them.
const pageChunk = 1000

// SetsPage lists at most limit (all when limit <= 0) record sets of zone
// that match f, in the order of Sets, starting after key after (from the
// first when it is the zero Key). Only the page is held in memory.
func (r *Registry) SetsPage(ctx context.Context, zone string, f Filter, after record.Key, limit int) (Page, error) {
	zoneName, err := record.ZoneName("zone", zone)
	if err != nil {
		return Page{}, err
	}
	name, typ, err := parseFilter(zoneName, f)
	if err != nil {
		return Page{}, err
	}
	match := func(s *record.Set) bool {
		return (typ == "" || s.Type == typ) && (f.SetID == "" || s.SetID == f.SetID)
	}
	var p Page
	_, err = r.store.View(ctx, func(tx store.ReadTx) error {
		if _, err := zoneOf(tx, zoneName); err != nil {
			return err
		}
		p, err = readPage(tx, zoneName, name, after, limit, match)
		return err
	})
	return p, err
}

// readPage reads sets of zone (of name when not empty) after key after,
// keeping those that match, until it has limit of them and knows whether
// more follow.
func readPage(tx store.ReadTx, zone, name string, after record.Key, limit int, match func(*record.Set) bool) (Page, error) {
	var p Page
	chunk := min(pageChunk, limit+1)
	if limit <= 0 {
		chunk = 0 // all at once
	}
	for {
		sets, err := tx.SetsPage(zone, name, after, chunk)
		if err != nil {
			return Page{}, err
		}
		for i := range sets {
			if !match(&sets[i]) {
				continue
			}
			if limit > 0 && len(p.Sets) == limit {
				p.More = true
				return p, nil
			}
			p.Sets = append(p.Sets, sets[i])
		}
		if chunk == 0 || len(sets) < chunk {
			return p, nil
		}
		after = sets[len(sets)-1].Key
	}
}

func parseFilter(zone string, f Filter) (name string, typ record.Type, err error) {
	if f.Name != "" {
		if name, err = record.Canonical("name", f.Name, zone); err != nil {
			return "", "", err
		}
	}
	if f.Type != "" {
		if typ, err = record.ParseType("type", f.Type); err != nil {
			return "", "", err
		}
	}
	return name, typ, nil
}
