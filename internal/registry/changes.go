package registry

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
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
	// TTLDefault says Set.TTL is a default, not a TTL the client gave: the
	// set keeps its own TTL or takes its group's, and Set.TTL applies only
	// to a set that is alone.
	TTLDefault bool
	// Guard, when set, must accept the change inside its transaction.
	Guard Guard
}

// Apply validates and commits changes to zone as one transaction: either
// every change is applied or none is. The rules spanning a name's sets
// (record.CheckNode) are checked on the state the whole batch leaves, so
// a batch valid as a whole passes whatever the order of its changes. As
// in Route 53, the last TTL given to a weighted set becomes its group's:
// the other sets of the name and type are rewritten with it. It returns
// the committed revision after the change is visible in Snapshot. Errors
// name the failing change as "changes[i]" when there is more than one.
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
	n := newNotes(ctx)
	rev, err := r.store.Update(ctx, func(tx store.Tx) error {
		n.reset()
		return r.applyZone(tx, n, now, zoneName, changes)
	})
	if err != nil {
		return 0, err
	}
	r.committed(ctx, n, rev)
	return rev, r.waitPublished(ctx, rev)
}

// applyZone applies changes to zone inside tx, noting transitions in n:
// Apply's transaction.
func (r *Registry) applyZone(tx store.Tx, n *notes, now time.Time, zoneName string, changes []Change) error {
	z, err := writableZone(tx, zoneName)
	if err != nil {
		return err
	}
	nodes := newNodes(tx, now)
	nodes.notes = n
	for i := range changes {
		if err := r.applyOne(nodes, &z, changes[i], i); err != nil {
			return &ChangeError{Index: i, Err: err}
		}
	}
	return nodes.finish()
}

// MaxChanges is the largest batch Apply accepts (Route 53: 1,000).
const MaxChanges = 1000

// applyOne applies change i to the transaction and to nodes; the rules
// spanning names wait for nodes.finish.
func (r *Registry) applyOne(nodes *nodes, z *record.Zone, c Change, i int) error {
	tx := nodes.tx
	set := c.Set
	set.Values = append([]string(nil), set.Values...)
	if c.Action == Delete {
		return deleteSet(nodes, z, set, &c)
	}
	if c.Action != Create && c.Action != Upsert {
		return record.Errorf("action", "%q is not an action; allowed: CREATE, UPSERT, DELETE", c.Action)
	}
	if err := set.NormalizeFor(z.Name, r.opts.Checks); err != nil {
		return err
	}
	if err := z.CheckNameServerSet(set.Key); err != nil {
		return err
	}
	if err := checkNotHidden(tx, z.Name, set.Name); err != nil {
		return err
	}
	old, err := tx.Set(set.Key)
	if err := c.guardPut(&old, err, &set); err != nil {
		return err
	}
	var prev *record.Set
	switch {
	case err == nil && c.Action == Create:
		return fmt.Errorf("%s: %w", set.Key, ErrExists)
	case err == nil:
		set.Created, set.Force, set.AgentHealth = old.Created, old.Force, old.AgentHealth
		prev = &old
	case errors.Is(err, store.ErrNotFound):
		set.Created = nodes.now
	default:
		return err
	}
	set.Updated = nodes.now
	if err := nodes.put(&set, c.TTLDefault, i); err != nil {
		return err
	}
	if err := tx.PutSet(set); err != nil {
		return err
	}
	if tr, ok := putTransition(prev, &set, record.Transition{At: nodes.now}); ok {
		if err := nodes.notes.note(tx, tr); err != nil {
			return err
		}
	}
	return setPolicy(tx, z, set.Name, c.Policy, false)
}

// deleteSet removes the set with key k.Key; the name is resolved like any
// other input so relative names work.
func deleteSet(nodes *nodes, z *record.Zone, k record.Set, c *Change) error {
	name, err := record.Canonical("name", k.Name, z.Name)
	if err != nil {
		return err
	}
	typ, err := record.ParseType("type", string(k.Type))
	if err != nil {
		return err
	}
	key := record.Key{Zone: z.Name, Name: name, Type: typ, SetID: k.SetID}
	if err := c.guardDelete(nodes.tx, key); err != nil {
		return err
	}
	if err := nodes.tx.DeleteSet(key); err != nil {
		return missingSet(nodes.tx, key, err)
	}
	nodes.delete(key)
	return nodes.notes.note(nodes.tx, record.Transition{At: nodes.now, Key: key, Event: record.EventDeleted})
}

// nodes follows the sets of the names a batch touches, as the batch leaves
// them, to apply the group-TTL rule as it goes and to check the rules
// spanning a name's sets (record.CheckNode) once, on the final state. It
// reads a name's sets from the store once per batch: reading them for
// every change made a batch of n changes to one name cost n² set decodes.
type nodes struct {
	tx   store.Tx
	now  time.Time
	sets map[string][]record.Set // by canonical name
	// last is, per name and type, the last change that put a set there:
	// the one an error about that group names.
	last map[nameType]lastPut
	// retimed are sets given their group's new TTL, to write at the end.
	retimed map[record.Key]bool
	notes   *notes // the batch's transitions, for the history
}

// nameType is a name and type: a weighted group, or a simple set.
type nameType struct {
	name string
	typ  record.Type
}

// lastPut is a change of a batch that put a set.
type lastPut struct {
	index int
	key   record.Key
}

func newNodes(tx store.Tx, now time.Time) *nodes {
	return &nodes{tx: tx, now: now, sets: map[string][]record.Set{}, last: map[nameType]lastPut{}, retimed: map[record.Key]bool{}, notes: &notes{}}
}

// put records that change i puts set. A weighted set gives its TTL to the
// other sets of its group, or, with ttlDefault, takes theirs; so does a
// set that exists already take its own.
func (n *nodes) put(set *record.Set, ttlDefault bool, i int) error {
	sets, err := n.load(set.Zone, set.Name)
	if err != nil {
		return err
	}
	if ttlDefault {
		set.TTL = groupTTL(sets, set)
	}
	if set.Weighted() {
		n.retime(sets, set)
	}
	if j := index(sets, set.Key); j >= 0 {
		sets[j] = *set
	} else {
		n.sets[set.Name] = append(sets, *set)
	}
	n.last[nameType{set.Name, set.Type}] = lastPut{index: i, key: set.Key}
	delete(n.retimed, set.Key) // written as it is now; a later change may retime it again
	return nil
}

// groupTTL is the TTL set keeps when it gives none: its own if it exists,
// else its weighted group's, else the default it was given.
func groupTTL(sets []record.Set, set *record.Set) uint32 {
	if j := index(sets, set.Key); j >= 0 {
		return sets[j].TTL
	}
	for i := range sets {
		if s := &sets[i]; set.Weighted() && s.Type == set.Type && s.Weighted() {
			return s.TTL
		}
	}
	return set.TTL
}

// retime gives the other weighted sets of set's group set's TTL. Their
// Updated stays: it is when the set itself was last written, and a
// rewrite is not its owner's write (see rewrittenOnly).
func (n *nodes) retime(sets []record.Set, set *record.Set) {
	for i := range sets {
		s := &sets[i]
		if s.Type == set.Type && s.Weighted() && s.Key != set.Key && s.TTL != set.TTL {
			s.TTL = set.TTL
			n.retimed[s.Key] = true
		}
	}
}

// rewrittenOnly reports whether cur is prev rewritten by the server, not by
// its owner: given its group's new TTL (nodes.retime), its agent-reported
// health recorded (reports), or its lapse written or cleared in a cluster
// (cluster.go), and nothing else. Such a write
// keeps Created and Updated; it renews no lease and brings back no set
// whose lease lapsed.
func rewrittenOnly(prev, cur *record.Set) bool {
	if !prev.Updated.Equal(cur.Updated) || !prev.Created.Equal(cur.Created) {
		return false
	}
	p := *prev
	p.TTL, p.AgentHealth, p.Revision, p.Updated, p.Created = cur.TTL, cur.AgentHealth, cur.Revision, cur.Updated, cur.Created
	p.Lapsed = cur.Lapsed
	return reflect.DeepEqual(&p, cur)
}

// finish checks the rules spanning each name the batch put a set at, on
// the state the batch leaves, and writes the sets given a new TTL. An
// error names the latest change that leaves its name invalid.
func (n *nodes) finish() error {
	puts := make([]lastPut, 0, len(n.last))
	for _, p := range n.last {
		puts = append(puts, p)
	}
	slices.SortFunc(puts, func(a, b lastPut) int { return b.index - a.index })
	for _, p := range puts {
		if err := record.CheckNode(n.sets[p.key.Name], p.key); err != nil {
			return &ChangeError{Index: p.index, Err: err}
		}
	}
	for k := range n.retimed {
		if j := index(n.sets[k.Name], k); j >= 0 { // not deleted since
			if err := n.tx.PutSet(n.sets[k.Name][j]); err != nil {
				return err
			}
		}
	}
	return nil
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
