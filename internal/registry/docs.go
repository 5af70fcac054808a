package registry

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/store"
)

// ErrNoDocs: the store keeps no documents (its transactions do not
// implement store.Docs).
var ErrNoDocs = errors.New("this store keeps no documents (store.Docs)")

// ViewDocs runs fn in one read-only transaction of the store, with its
// documents: what every server sharing the store reads alike.
func (r *Registry) ViewDocs(ctx context.Context, fn func(tx store.ReadTx, d store.Docs) error) error {
	_, err := r.store.View(ctx, func(tx store.ReadTx) error {
		d, ok := tx.(store.Docs)
		if !ok {
			return ErrNoDocs
		}
		return fn(tx, d)
	})
	return err
}

// UpdateDocs runs fn in one transaction of the store: fn reads the store,
// writes documents through d and returns changes to record sets by zone,
// which are applied in the same transaction as Apply applies them (a
// *ChangeError indexes its zone's changes). Either all of it commits or
// none. fn may run more than once. With changes, UpdateDocs returns once
// they are visible in Snapshot (or ErrNotVisible), as Apply.
func (r *Registry) UpdateDocs(ctx context.Context, fn func(tx store.ReadTx, d store.Docs) (map[string][]Change, error)) (int64, error) {
	now := r.now()
	n := newNotes(ctx)
	changed := false
	rev, err := r.store.Update(ctx, func(tx store.Tx) error {
		n.reset()
		d, ok := tx.(store.Docs)
		if !ok {
			return ErrNoDocs
		}
		byZone, err := fn(tx, d)
		if err != nil {
			return err
		}
		changed = len(byZone) > 0
		return r.applyZones(tx, n, now, byZone)
	})
	if err != nil {
		return 0, err
	}
	if !changed {
		return rev, nil
	}
	r.committed(ctx, n, rev)
	return rev, r.waitPublished(ctx, rev)
}

// applyZones applies the changes of each zone, in the order of their
// names.
func (r *Registry) applyZones(tx store.Tx, n *notes, now time.Time, byZone map[string][]Change) error {
	zones := make([]string, 0, len(byZone))
	for z := range byZone {
		zones = append(zones, z)
	}
	slices.Sort(zones)
	for _, z := range zones {
		if len(byZone[z]) > MaxChanges {
			return record.Errorf("changes", "%d changes given to zone %s; at most %d are allowed in one batch", len(byZone[z]), z, MaxChanges)
		}
		if err := r.applyZone(tx, n, now, z, byZone[z]); err != nil {
			return err
		}
	}
	return nil
}
