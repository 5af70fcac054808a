package webhook

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/registry"
	"github.com/dnslb/dnslb/internal/store"
)

// ErrForeign: the set belongs to another writer (or to no writer of the
// webhook: an agent, an operator).
var ErrForeign = errors.New("owned by another writer")

// op is one change of a batch: an upsert of set, or a delete of its key.
type op struct {
	field      string // where in the request, e.g. "create[2]"
	del        bool
	set        record.Set
	ttlDefault bool
}

// apply applies ch for writer, one atomic batch per zone.
func (s *Server) apply(ctx context.Context, writer string, ch *Changes) error {
	zones, err := s.zones(ctx)
	if err != nil {
		return err
	}
	ops, err := planOps(zones, ch)
	if err != nil {
		return err
	}
	byZone := map[string][]op{}
	for _, o := range ops {
		byZone[o.set.Zone] = append(byZone[o.set.Zone], o)
	}
	names := make([]string, 0, len(byZone))
	for z := range byZone {
		names = append(names, z)
	}
	sort.Strings(names)
	for _, z := range names {
		if err := s.applyZone(ctx, writer, z, byZone[z]); err != nil {
			return fmt.Errorf("zone %s: %w", z, err)
		}
	}
	return nil
}

// planOps turns ch into ops, every endpoint validated: creates and
// updateNew upsert, deletes delete, and an updateOld whose key no
// updateNew has is deleted.
func planOps(zones []string, ch *Changes) ([]op, error) {
	var ops []op
	upserted := map[record.Key]bool{}
	for _, l := range []struct {
		name string
		eps  []*Endpoint
	}{{"create", ch.Create}, {"updateNew", ch.UpdateNew}} {
		for i, e := range l.eps {
			o, err := upsertOp(zones, fmt.Sprintf("%s[%d]", l.name, i), e)
			if err != nil {
				return nil, err
			}
			upserted[o.set.Key] = true
			ops = append(ops, o)
		}
	}
	for _, l := range []struct {
		name string
		eps  []*Endpoint
	}{{"updateOld", ch.UpdateOld}, {"delete", ch.Delete}} {
		for i, e := range l.eps {
			o, err := deleteOp(zones, fmt.Sprintf("%s[%d]", l.name, i), e)
			if err != nil {
				return nil, err
			}
			if l.name == "delete" || !upserted[o.set.Key] {
				ops = append(ops, o)
			}
		}
	}
	return ops, nil
}

func upsertOp(zones []string, field string, e *Endpoint) (op, error) {
	if e == nil {
		return op{}, record.Errorf(field, "null is not an endpoint")
	}
	set, ttlDefault, err := endpointSet(zones, e)
	if err != nil {
		return op{}, fmt.Errorf("%s (%s): %w", field, e.describe(), err)
	}
	return op{field: field, set: set, ttlDefault: ttlDefault}, nil
}

// deleteOp needs the key only: the values of a set being deleted are not
// checked.
func deleteOp(zones []string, field string, e *Endpoint) (op, error) {
	if e == nil {
		return op{}, record.Errorf(field, "null is not an endpoint")
	}
	k, err := endpointKey(zones, e)
	if err != nil {
		return op{}, fmt.Errorf("%s (%s): %w", field, e.describe(), err)
	}
	return op{field: field, del: true, set: record.Set{Key: k}}, nil
}

// endpointKey is the key of the set e names.
func endpointKey(zones []string, e *Endpoint) (record.Key, error) {
	z := zoneOf(zones, e.DNSName)
	if z == "" {
		return record.Key{}, record.Errorf("dnsName", "%q is in no zone dnslb serves", e.DNSName)
	}
	typ, err := record.ParseType("recordType", e.RecordType)
	if err != nil {
		return record.Key{}, err
	}
	name, err := record.Canonical("dnsName", record.Fqdn(e.DNSName), z)
	if err != nil {
		return record.Key{}, err
	}
	return record.Key{Zone: z, Name: name, Type: typ, SetID: e.SetIdentifier}, nil
}

// applyZone applies the ops of zone z that touch the writer's own sets,
// as one batch; the ownership checked here is held by a guard inside the
// batch's transaction.
func (s *Server) applyZone(ctx context.Context, writer, z string, ops []op) error {
	tag := ownerTag(writer)
	guard := func(old, _ *record.Set) error {
		if old != nil && old.Owner != tag {
			return fmt.Errorf("%s: %w (%q)", old.Key, ErrForeign, old.Owner)
		}
		return nil
	}
	var changes []registry.Change
	for _, o := range ops {
		c, ok, err := s.change(ctx, writer, o)
		if err != nil {
			return err
		}
		if ok {
			c.Guard = guard
			changes = append(changes, c)
		}
	}
	if len(changes) == 0 {
		return nil
	}
	_, err := s.cfg.Registry.Apply(ctx, z, changes)
	return err
}

// change is the registry change of o, or ok false when o is skipped: its
// set belongs to someone else, or a delete finds it gone.
func (s *Server) change(ctx context.Context, writer string, o op) (registry.Change, bool, error) {
	tag := ownerTag(writer)
	old, err := s.cfg.Registry.Set(ctx, o.set.Key)
	switch {
	case err == nil && old.Owner != tag:
		s.log.Warn("external-dns change skipped: the set belongs to another writer", "change", o.field,
			"set", o.set.Key.String(), "zone", o.set.Zone, "owner", old.Owner, "writer", writer)
		return registry.Change{}, false, nil
	case errors.Is(err, store.ErrNotFound) && o.del:
		s.log.Debug("external-dns delete skipped: no such set", "change", o.field, "set", o.set.Key.String())
		return registry.Change{}, false, nil
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return registry.Change{}, false, fmt.Errorf("%s: %w", o.field, err)
	}
	if o.del {
		return registry.Change{Action: registry.Delete, Set: o.set}, true, nil
	}
	set := o.set
	set.Owner = tag
	return registry.Change{Action: registry.Upsert, Set: set, TTLDefault: o.ttlDefault}, true, nil
}
