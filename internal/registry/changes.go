package registry

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/store"
)

// Errors returned by the registry besides *record.FieldError and
// store.ErrNotFound.
var (
	// ErrExists: a create found the zone or record set already there.
	ErrExists = errors.New("already exists")
)

// Action is what a Change does.
type Action string

// Change actions, as in Route 53's ChangeResourceRecordSets.
const (
	Create Action = "CREATE" // fails when the set exists
	Upsert Action = "UPSERT" // creates or replaces
	Delete Action = "DELETE" // fails when the set does not exist
)

// ChangeError says which change of a batch failed.
type ChangeError struct {
	Index int
	Err   error
}

func (e *ChangeError) Error() string { return fmt.Sprintf("change %d: %v", e.Index, e.Err) }

// Unwrap returns the cause, so errors.Is and errors.As see through.
func (e *ChangeError) Unwrap() error { return e.Err }

// Change is one step of an atomic batch. For Delete only Set.Key matters.
// A non-empty Policy sets the routing policy of the set's name.
type Change struct {
	Action Action
	Set    record.Set
	Policy record.Policy
}

// Apply validates and commits changes to zone as one transaction: either
// every change is applied or none is. It returns the committed revision
// after the change is visible in Snapshot. Errors name the failing change
// as "changes[i]" when there is more than one.
func (r *Registry) Apply(ctx context.Context, zone string, changes []Change) (int64, error) {
	zoneName, err := record.ZoneName("zone", zone)
	if err != nil {
		return 0, err
	}
	if len(changes) == 0 {
		return 0, record.Errorf("changes", "at least one change is required")
	}
	if len(changes) > MaxChanges {
		return 0, record.Errorf("changes", "%d changes given; at most %d are allowed in one batch", len(changes), MaxChanges)
	}
	now := r.now()
	rev, err := r.store.Update(ctx, func(tx store.Tx) error {
		z, err := tx.Zone(zoneName)
		if err != nil {
			return fmt.Errorf("zone %s: %w", zoneName, err)
		}
		for i := range changes {
			if err := r.applyOne(tx, &z, changes[i], now); err != nil {
				return &ChangeError{Index: i, Err: err}
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return rev, r.waitPublished(ctx, rev)
}

// MaxChanges is the largest batch Apply accepts (Route 53: 1,000).
const MaxChanges = 1000

func (r *Registry) applyOne(tx store.Tx, z *record.Zone, c Change, now time.Time) error {
	set := c.Set
	set.Values = append([]string(nil), set.Values...)
	if c.Action == Delete {
		return deleteSet(tx, z, set)
	}
	if c.Action != Create && c.Action != Upsert {
		return record.Errorf("action", "%q is not an action; allowed: CREATE, UPSERT, DELETE", c.Action)
	}
	if err := set.Normalize(z.Name); err != nil {
		return err
	}
	old, err := tx.Set(set.Key)
	switch {
	case err == nil && c.Action == Create:
		return fmt.Errorf("%s: %w", set.Key, ErrExists)
	case err == nil:
		set.Created, set.Force = old.Created, old.Force
	case errors.Is(err, store.ErrNotFound):
		set.Created = now
	default:
		return err
	}
	set.Updated = now
	if err := checkNode(tx, set); err != nil {
		return err
	}
	if err := tx.PutSet(set); err != nil {
		return err
	}
	return setPolicy(tx, z, set.Name, c.Policy, false)
}

// deleteSet removes the set with key k.Key; the name is resolved like any
// other input so relative names work.
func deleteSet(tx store.Tx, z *record.Zone, k record.Set) error {
	name, err := record.Canonical("name", k.Name, z.Name)
	if err != nil {
		return err
	}
	typ, err := record.ParseType("type", string(k.Type))
	if err != nil {
		return err
	}
	key := record.Key{Zone: z.Name, Name: name, Type: typ, SetID: k.SetID}
	if err := tx.DeleteSet(key); err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	return nil
}

// checkNode applies the rules spanning all sets of the set's name.
func checkNode(tx store.Tx, set record.Set) error {
	sets, err := tx.Sets(set.Zone, set.Name)
	if err != nil {
		return err
	}
	replaced := false
	for i := range sets {
		if sets[i].Key == set.Key {
			sets[i], replaced = set, true
		}
	}
	if !replaced {
		sets = append(sets, set)
	}
	return record.CheckNode(sets, set.Key)
}

// setPolicy records the routing policy of name in its zone when p is given
// and differs from what the zone has. With remember, the name gets an entry
// even for the default policy: a name with an entry exists (answers NODATA)
// while it has no record sets.
func setPolicy(tx store.Tx, z *record.Zone, name string, p record.Policy, remember bool) error {
	if p == "" {
		return nil
	}
	p, err := record.ParsePolicy("policy", string(p))
	if err != nil {
		return err
	}
	if cur, ok := z.Policies[name]; ok && cur == p || !ok && p == record.Weighted && !remember {
		return nil
	}
	policies := make(map[string]record.Policy, len(z.Policies)+1)
	for n, q := range z.Policies {
		policies[n] = q
	}
	policies[name] = p
	z.Policies = policies
	return tx.PutZone(*z)
}
