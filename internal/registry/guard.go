package registry

import (
	"context"
	"errors"

	"github.com/dnslb/dnslb/internal/heartbeat"
	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/store"
)

// Guard, set on a Change, is called inside the change's transaction with
// the set stored under the change's key (nil when there is none) and the
// set the change writes (nil for a delete), which it may amend (its
// OwnerHash). An error refuses the whole batch. The API proves with it
// that a caller owns the set it writes, atomically with the write.
type Guard func(old, set *record.Set) error

// guardPut runs c's guard for an upsert or create of set over old (found
// or not), and keeps the owner of a set rewritten without one: an
// operator's write does not take a set from the instance that owns it.
func (c *Change) guardPut(old *record.Set, err error, set *record.Set) error {
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if err != nil {
		old = nil
	}
	if old != nil && set.OwnerHash == "" {
		set.OwnerHash = old.OwnerHash
	}
	if c.Guard != nil {
		if err := c.Guard(old, set); err != nil {
			return err
		}
	}
	giveBeatKey(old, set)
	return nil
}

// giveBeatKey gives a leased set its heartbeat key, ignoring any key the
// caller sent: the stored one while the owner stays the same, a new one
// for a new set or a new owner (so that the agent of a set taken over
// cannot beat for its new owner). Keys are written here, with the set,
// not when renewals hand them out.
func giveBeatKey(old, set *record.Set) {
	switch {
	case set.Lease <= 0:
		set.BeatKey = ""
	case old != nil && old.BeatKey != "" && old.OwnerHash == set.OwnerHash:
		set.BeatKey = old.BeatKey
	default:
		set.BeatKey = heartbeat.NewKey().String()
	}
}

// guardDelete runs c's guard before the set under key is deleted.
func (c *Change) guardDelete(tx store.Tx, key record.Key) error {
	if c.Guard == nil {
		return nil
	}
	old, err := tx.Set(key)
	if err != nil {
		return nil // deleteSet reports the missing set
	}
	return c.Guard(&old, nil)
}

// Set returns the stored record set with key k (zone, name relative or
// absolute, type, set id).
func (r *Registry) Set(ctx context.Context, k record.Key) (record.Set, error) {
	return r.lookup(ctx, k)
}
