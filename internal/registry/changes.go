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
			return err // the store names the zone
		}
		nodes := newNodes(tx)
		for i := range changes {
			if err := r.applyOne(nodes, &z, changes[i], now); err != nil {
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

func (r *Registry) applyOne(nodes *nodes, z *record.Zone, c Change, now time.Time) error {
	tx := nodes.tx
	set := c.Set
	set.Values = append([]string(nil), set.Values...)
	if c.Action == Delete {
		return deleteSet(nodes, z, set)
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
		set.Created, set.Force, set.AgentHealth = old.Created, old.Force, old.AgentHealth
	case errors.Is(err, store.ErrNotFound):
		set.Created = now
	default:
		return err
	}
	set.Updated = now
	if err := nodes.check(set); err != nil {
		return err
	}
	if err := tx.PutSet(set); err != nil {
		return err
	}
	nodes.put(set)
	return setPolicy(tx, z, set.Name, c.Policy, false)
}

// deleteSet removes the set with key k.Key; the name is resolved like any
// other input so relative names work.
func deleteSet(nodes *nodes, z *record.Zone, k record.Set) error {
	name, err := record.Canonical("name", k.Name, z.Name)
	if err != nil {
		return err
	}
	typ, err := record.ParseType("type", string(k.Type))
	if err != nil {
		return err
	}
	key := record.Key{Zone: z.Name, Name: name, Type: typ, SetID: k.SetID}
	if err := nodes.tx.DeleteSet(key); err != nil {
		return missingSet(nodes.tx, key, err)
	}
	nodes.delete(key)
	return nil
}

// nodes checks the rules spanning all sets of a name (record.CheckNode)
// for each change of a batch, in order. It reads a name's sets from the
// store once per batch and keeps them current as the batch goes: reading
// them again for every change made a batch of n changes to one name cost
// n² set decodes.
type nodes struct {
	tx   store.Tx
	sets map[string][]record.Set // by canonical name
}

func newNodes(tx store.Tx) *nodes { return &nodes{tx: tx, sets: map[string][]record.Set{}} }

// check applies the rules to the sets set's name would have with set put.
func (n *nodes) check(set record.Set) error {
	sets, err := n.load(set.Zone, set.Name)
	if err != nil {
		return err
	}
	if i := index(sets, set.Key); i >= 0 {
		old := sets[i]
		sets[i] = set
		err = record.CheckNode(sets, set.Key)
		sets[i] = old
		return err
	}
	return record.CheckNode(append(sets[:len(sets):len(sets)], set), set.Key)
}

func (n *nodes) load(zone, name string) ([]record.Set, error) {
	if sets, ok := n.sets[name]; ok {
		return sets, nil
	}
	sets, err := n.tx.Sets(zone, name)
	if err != nil {
		return nil, err
	}
	n.sets[name] = sets
	return sets, nil
}

// put records that set was written; check has loaded its name.
func (n *nodes) put(set record.Set) {
	sets := n.sets[set.Name]
	if i := index(sets, set.Key); i >= 0 {
		sets[i] = set
		return
	}
	n.sets[set.Name] = append(sets, set)
}

// delete records that the set with key k was deleted.
func (n *nodes) delete(k record.Key) {
	sets, ok := n.sets[k.Name]
	if !ok {
		return // never loaded: the next load reads the store
	}
	if i := index(sets, k); i >= 0 {
		n.sets[k.Name] = append(sets[:i], sets[i+1:]...)
	}
}

func index(sets []record.Set, k record.Key) int {
	for i := range sets {
		if sets[i].Key == k {
			return i
		}
	}
	return -1
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
