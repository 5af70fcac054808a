package registry

import (
	"context"

	"github.com/dnslb/dnslb/internal/heartbeat"
	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/store"
)

// Renew extends the lease of the set k (name may be relative) by its
// lease TTL. healthy, when not nil, is the instance's own check result:
// false takes the set out of answers until a renewal says true. Renewals are
// kept in memory, not written to the store, and read the set's lease from
// memory too: 10,000 agents renewing every 5 s is 2,000 calls a second. A
// set the server does not know gives store.ErrNotFound: the agent should
// register again.
func (r *Registry) Renew(ctx context.Context, k record.Key, healthy *bool) (record.LeaseStatus, error) {
	key, err := r.resolveKey(k)
	if err != nil {
		return record.LeaseStatus{}, err
	}
	if err := r.renewRefused(); err != nil { // a cluster server cut off from the store: cluster.go
		return record.LeaseStatus{}, err
	}
	rn := r.leases.renew(key, healthy, r.now())
	if !rn.known { // not leased here (yet, or any more): the store says why
		return r.renewUnknown(ctx, key)
	}
	if rn.beat == nil { // a set stored without a heartbeat key: give it one, once
		changed := rn.changed
		rn = r.renewWithKey(ctx, key, rn)
		rn.changed = rn.changed || changed
	}
	st := record.LeaseStatus{Key: key, Lease: record.Duration(rn.ttl), Remaining: record.Duration(rn.ttl), State: rn.state,
		Heartbeat: rn.beat}
	if rn.changed {
		return st, r.publishTouched(ctx)
	}
	return st, nil
}

// renewWithKey stores a heartbeat key for the set k, which has none (it
// was stored before keys were, or written to the store directly), waits
// until the engine follows it, and renews again to hand it out. Should
// that fail, rn stands: the agent renews over HTTP until a renewal works.
func (r *Registry) renewWithKey(ctx context.Context, k record.Key, rn renewal) renewal {
	rev, err := r.store.Update(ctx, func(tx store.Tx) error {
		set, err := tx.Set(k)
		if err != nil || set.BeatKey != "" || set.Lease <= 0 {
			return err
		}
		set.BeatKey = heartbeat.NewKey().String()
		return tx.PutSet(set)
	})
	if err != nil || r.waitPublished(ctx, rev) != nil {
		return rn
	}
	if again := r.leases.renew(k, nil, r.now()); again.known {
		return again
	}
	return rn
}

// renewUnknown answers a renewal of a set the lease engine does not
// follow: gone (ErrNotFound), without a lease, or written but not yet
// applied here (its lease starts when it is, so there is nothing to
// renew; no token until then). It records nothing.
func (r *Registry) renewUnknown(ctx context.Context, key record.Key) (record.LeaseStatus, error) {
	set, err := r.lookup(ctx, key)
	if err != nil {
		return record.LeaseStatus{}, err
	}
	if set.Lease <= 0 {
		return record.LeaseStatus{}, record.Errorf("lease", "%s has no lease; set one when registering (e.g. --lease 15s)", key)
	}
	state := "active"
	if set.State == record.Draining {
		state = "draining"
	}
	return record.LeaseStatus{Key: key, Lease: set.Lease, Remaining: set.Lease, State: state}, nil
}

// lookup reads the set with key k from the store, resolving its name.
func (r *Registry) lookup(ctx context.Context, k record.Key) (record.Set, error) {
	key, err := r.resolveKey(k)
	if err != nil {
		return record.Set{}, err
	}
	var set record.Set
	_, err = r.store.View(ctx, func(tx store.ReadTx) (err error) {
		set, err = tx.Set(key)
		if err != nil {
			return missingSet(tx, key, err)
		}
		return nil
	})
	return set, err
}

// resolveKey validates k as given by a client and makes it canonical.
func (r *Registry) resolveKey(k record.Key) (record.Key, error) {
	zone, err := record.ZoneName("zone", k.Zone)
	if err != nil {
		return k, err
	}
	name, err := record.Canonical("name", k.Name, zone)
	if err != nil {
		return k, err
	}
	typ, err := record.ParseType("type", string(k.Type))
	if err != nil {
		return k, err
	}
	return record.Key{Zone: zone, Name: name, Type: typ, SetID: k.SetID}, nil
}
