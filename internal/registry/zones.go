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
	def.Policies = z.Policies
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

// DeleteZone deletes zone name with all its record sets.
func (r *Registry) DeleteZone(ctx context.Context, name string) error {
	zoneName, err := record.ZoneName("zone", name)
	if err != nil {
		return err
	}
	rev, err := r.store.Update(ctx, func(tx store.Tx) error {
		if err := tx.DeleteZone(zoneName); err != nil {
			return err // the store names the zone
		}
		return nil
	})
	if err != nil {
		return err
	}
	return r.waitPublished(ctx, rev)
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
		z, err = tx.Zone(zoneName)
		return err // the store names the zone
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
	zoneName, err := record.ZoneName("zone", zone)
	if err != nil {
		return nil, err
	}
	name, typ, err := parseFilter(zoneName, f)
	if err != nil {
		return nil, err
	}
	var sets []record.Set
	_, err = r.store.View(ctx, func(tx store.ReadTx) error {
		if _, err := tx.Zone(zoneName); err != nil {
			return err // the store names the zone
		}
		all, err := tx.Sets(zoneName, name)
		for _, s := range all {
			if (typ == "" || s.Type == typ) && (f.SetID == "" || s.SetID == f.SetID) {
				sets = append(sets, s)
			}
		}
		return err
	})
	return sets, err
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
