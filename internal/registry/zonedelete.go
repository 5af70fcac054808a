package registry

import (
	"context"
	"errors"
	"fmt"

	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/store"
)

// Errors of zone deletion and creation.
var (
	// ErrZoneNotEmpty: a zone that holds record sets is deleted without
	// force.
	ErrZoneNotEmpty = errors.New("zone not empty")
	// ErrZoneDeleting: a write to a zone whose deletion has started.
	ErrZoneDeleting = errors.New("zone is being deleted")
	// ErrZoneConflict: a new zone would hide names of the zone above it.
	ErrZoneConflict = errors.New("zone would hide names of its parent zone")
)

// DeleteChunk is how many record sets one transaction of a zone deletion
// deletes: writes to other zones wait for one chunk at most, not for the
// whole zone.
const DeleteChunk = 1000

// NotEmptyError is ErrZoneNotEmpty with the zone and its number of sets.
type NotEmptyError struct {
	Zone string
	Sets int
}

func (e *NotEmptyError) Error() string {
	sets := "record sets"
	if e.Sets == 1 {
		sets = "record set"
	}
	return fmt.Sprintf("zone %s holds %d %s; delete them first, or delete the zone with them with force (dnslb zone rm --force, DELETE ?force=true)", e.Zone, e.Sets, sets)
}

// Unwrap returns ErrZoneNotEmpty.
func (e *NotEmptyError) Unwrap() error { return ErrZoneNotEmpty }

// DeleteZone deletes zone name. A zone holding record sets is deleted only
// with force (as Route 53 refuses to delete a hosted zone with records),
// and then in steps: the zone is first marked Deleting, which takes it out
// of DNS answers and refuses writes to it at once; then its sets are
// deleted DeleteChunk per transaction, so that writes to other zones never
// wait long; then the zone. The steps go on when ctx ends (a client that
// gives up must not leave a half-deleted zone); a deletion cut short by a
// shutdown is finished by deleting the zone again.
func (r *Registry) DeleteZone(ctx context.Context, name string, force bool) error {
	zoneName, err := record.ZoneName("zone", name)
	if err != nil {
		return err
	}
	wctx := context.WithoutCancel(ctx)
	rev, done, err := r.startDelete(wctx, zoneName, force)
	for err == nil && !done {
		rev, done, err = r.deleteChunk(wctx, zoneName)
	}
	if err != nil {
		return err
	}
	return r.waitPublished(ctx, rev)
}

// startDelete marks zone Deleting, or deletes it when it is empty.
func (r *Registry) startDelete(ctx context.Context, zone string, force bool) (rev int64, done bool, err error) {
	rev, err = r.store.Update(ctx, func(tx store.Tx) error {
		z, err := zoneOf(tx, zone)
		if err != nil {
			return err
		}
		limit := 1 // is it empty?
		if !force && !z.Deleting {
			limit = 0 // how many, for the error
		}
		keys, err := tx.Keys(zone, record.Key{}, limit)
		switch {
		case err != nil:
			return err
		case len(keys) == 0:
			done = true
			return tx.DeleteZone(zone)
		case !force && !z.Deleting:
			return &NotEmptyError{Zone: zone, Sets: len(keys)}
		case z.Deleting:
			return nil // resume
		}
		z.Deleting = true
		return tx.PutZone(z)
	})
	return rev, done, err
}

// deleteChunk deletes up to DeleteChunk sets of zone, and the zone with
// the last of them.
func (r *Registry) deleteChunk(ctx context.Context, zone string) (rev int64, done bool, err error) {
	rev, err = r.store.Update(ctx, func(tx store.Tx) error {
		if _, err := zoneOf(tx, zone); err != nil {
			return err // a concurrent deletion finished first
		}
		keys, err := tx.Keys(zone, record.Key{}, DeleteChunk+1)
		if err != nil {
			return err
		}
		if len(keys) <= DeleteChunk {
			done = true
			return tx.DeleteZone(zone)
		}
		for _, k := range keys[:DeleteChunk] {
			if err := tx.DeleteSet(k); err != nil {
				return err
			}
		}
		return nil
	})
	return rev, done, err
}

// writableZone returns zone for a write to its sets: it must exist and not
// be being deleted.
func writableZone(tx store.ReadTx, zone string) (record.Zone, error) {
	z, err := zoneOf(tx, zone)
	if err != nil {
		return z, err
	}
	if z.Deleting {
		return z, fmt.Errorf("zone %s: %w; it takes no more writes (run dnslb zone rm --force %s again if the deletion was cut short)", zone, ErrZoneDeleting, zone)
	}
	return z, nil
}

// zoneOf reads zone; the store names a missing zone (ErrNotFound).
func zoneOf(tx store.ReadTx, zone string) (record.Zone, error) {
	return tx.Zone(zone)
}

// runResumeDeletes resumes the zone deletions the first load hands it,
// until ctx ends.
func (r *Registry) runResumeDeletes(ctx context.Context) {
	select {
	case zones := <-r.deleting:
		r.resumeDeletes(ctx, zones)
	case <-ctx.Done():
	}
}

// resumeDeletes finishes, off the loop, the deletions of zones that the
// first load found marked Deleting: a deletion cut short by a shutdown
// goes on when the server starts again, instead of leaving a zone that
// answers nothing and takes no writes. It runs until the zones are gone or
// ctx ends (the next start resumes them again).
func (r *Registry) resumeDeletes(ctx context.Context, zones []string) {
	for _, zone := range zones {
		r.log.Info("resuming the deletion of a zone cut short", "zone", zone)
		if err := r.finishDelete(ctx, zone); err != nil && ctx.Err() == nil {
			r.log.Error("resuming the deletion of a zone failed; run dnslb zone rm --force again", "zone", zone, "err", err)
		}
	}
}

// finishDelete deletes the sets of zone, which is marked Deleting, chunk
// by chunk, then the zone. A zone deleted meanwhile (by dnslb zone rm
// again) is done.
func (r *Registry) finishDelete(ctx context.Context, zone string) error {
	for {
		_, done, err := r.deleteChunk(ctx, zone)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return nil
		case err != nil:
			return err
		case done:
			return nil
		}
	}
}
