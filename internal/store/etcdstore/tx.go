package etcdstore

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/store"
)

// entry is a value written by the transaction: JSON, or a deletion.
type entry struct {
	val []byte
	del bool
}

// logEvent is one event of the log key.
type logEvent struct {
	Kind store.Kind      `json:"k"`
	Val  json.RawMessage `json:"v,omitempty"`   // PutZone, PutSet
	Name string          `json:"n,omitempty"`   // DeleteZone
	Key  *record.Key     `json:"key,omitempty"` // DeleteSet
}

// tx is a transaction over one etcd revision, with its writes buffered.
// fn runs it on one goroutine.
type tx struct {
	s      *Store
	ctx    context.Context
	rev    int64            // the revision read; 0 until the first read
	seen   map[string]int64 // keys read at rev: their mod revision (0: missing)
	ranged bool             // a range was read
	err    error            // the first etcd failure: the transaction cannot commit

	zones  map[string]entry    // zone name → written zone
	sets   map[string]entry    // set key → written set
	gone   map[string]bool     // zones deleted: their stored sets are hidden
	docs   map[string]entry    // document key → written document (docs.go)
	notes  []record.Transition // journal entries, written after the commit (journal.go)
	ro     bool                // a View: documents cannot be written
	events []logEvent
}

func newTx(s *Store, ctx context.Context) *tx {
	return &tx{s: s, ctx: ctx, seen: map[string]int64{},
		zones: map[string]entry{}, sets: map[string]entry{}, gone: map[string]bool{}, docs: map[string]entry{}}
}

// get reads key (a range with opts) at the transaction's revision; the
// first read fixes that revision.
func (t *tx) get(key string, opts ...clientv3.OpOption) (*clientv3.GetResponse, error) {
	if t.err != nil {
		return nil, t.err
	}
	if t.rev != 0 {
		opts = append(opts, clientv3.WithRev(t.rev))
	}
	var resp *clientv3.GetResponse
	err := t.s.call(t.ctx, func(ctx context.Context) (err error) {
		resp, err = t.s.cli.Get(ctx, key, opts...)
		return err
	})
	if err != nil {
		t.err = err
		return nil, err
	}
	if t.rev == 0 {
		t.rev = resp.Header.Revision
	}
	return resp, nil
}

// getOne reads one key and remembers its mod revision for the commit's
// compares; it returns nil for a missing key.
func (t *tx) getOne(key string) (*value, error) {
	resp, err := t.get(key)
	if err != nil {
		return nil, err
	}
	if len(resp.Kvs) == 0 {
		t.seen[key] = 0
		return nil, nil
	}
	kv := resp.Kvs[0]
	t.seen[key] = kv.ModRevision
	return &value{val: kv.Value, rev: kv.ModRevision}, nil
}

// value is a stored value and its revision.
type value struct {
	val []byte
	rev int64
}

func (t *tx) Zone(name string) (record.Zone, error) {
	var z record.Zone
	if e, ok := t.zones[name]; ok {
		if e.del {
			return z, fmt.Errorf("zone %s: %w", name, store.ErrNotFound)
		}
		return z, json.Unmarshal(e.val, &z)
	}
	v, err := t.getOne(t.s.keys.zone(name))
	if err != nil {
		return z, err
	}
	if v == nil {
		return z, fmt.Errorf("zone %s: %w", name, store.ErrNotFound)
	}
	return decodeZone(v.val, v.rev)
}

func (t *tx) Zones() ([]record.Zone, error) {
	t.ranged = true
	resp, err := t.get(t.s.keys.zones(), clientv3.WithPrefix())
	if err != nil {
		return nil, err
	}
	byName := map[string]record.Zone{}
	for _, kv := range resp.Kvs {
		z, err := decodeZone(kv.Value, kv.ModRevision)
		if err != nil {
			return nil, err
		}
		byName[z.Name] = z
	}
	for name, e := range t.zones {
		delete(byName, name)
		if !e.del {
			var z record.Zone
			if err := json.Unmarshal(e.val, &z); err != nil {
				return nil, err
			}
			byName[name] = z
		}
	}
	names := make([]string, 0, len(byName))
	for name := range byName {
		names = append(names, name)
	}
	slices.Sort(names)
	out := make([]record.Zone, len(names))
	for i, name := range names {
		out[i] = byName[name]
	}
	return out, nil
}

func (t *tx) Set(k record.Key) (record.Set, error) {
	var s record.Set
	key := t.s.keys.set(k)
	e, ok := t.sets[key]
	switch {
	case ok && e.del, !ok && t.gone[k.Zone]:
		return s, fmt.Errorf("record set %s: %w", k, store.ErrNotFound)
	case ok:
		return s, json.Unmarshal(e.val, &s)
	}
	v, err := t.getOne(key)
	if err != nil {
		return s, err
	}
	if v == nil {
		return s, fmt.Errorf("record set %s: %w", k, store.ErrNotFound)
	}
	return decodeSet(v.val, v.rev)
}

func (t *tx) Sets(zone, name string) ([]record.Set, error) {
	return t.SetsPage(zone, name, record.Key{}, 0)
}

func (t *tx) SetsPage(zone, name string, after record.Key, limit int) ([]record.Set, error) {
	kvs, err := t.rangeSets(zone, name, after, limit, false)
	if err != nil {
		return nil, err
	}
	out := make([]record.Set, 0, len(kvs))
	for _, kv := range kvs {
		s, err := decodeSet(kv.val, kv.rev)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func (t *tx) Keys(zone string, after record.Key, limit int) ([]record.Key, error) {
	kvs, err := t.rangeSets(zone, "", after, limit, true)
	if err != nil {
		return nil, err
	}
	out := make([]record.Key, 0, len(kvs))
	for _, kv := range kvs {
		k, err := t.s.keys.parseSet(kv.key)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, nil
}

// setKV is one set of a range: its key, and its value unless keys only.
type setKV struct {
	key string
	val []byte
	rev int64
}

// rangeSets reads the sets of zone (of name, if not empty) after key
// after, at most limit (all when limit <= 0), merged with the
// transaction's own writes.
func (t *tx) rangeSets(zone, name string, after record.Key, limit int, keysOnly bool) ([]setKV, error) {
	t.ranged = true
	prefix := t.s.keys.setsOf(zone, name)
	start := prefix
	if after != (record.Key{}) {
		after.Zone = zone
		start = max(start, t.s.keys.set(after)+"\x00")
	}
	base, err := t.baseRange(zone, prefix, start, limit, keysOnly)
	if err != nil {
		return nil, err
	}
	byKey := make(map[string]setKV, len(base))
	for _, kv := range base {
		byKey[kv.key] = kv
	}
	for key, e := range t.sets {
		if !strings.HasPrefix(key, prefix) || key < start {
			continue
		}
		delete(byKey, key)
		if !e.del {
			byKey[key] = setKV{key: key, val: e.val}
		}
	}
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if limit > 0 && len(keys) > limit {
		keys = keys[:limit]
	}
	out := make([]setKV, len(keys))
	for i, k := range keys {
		out[i] = byKey[k]
	}
	return out, nil
}

// baseRange reads what etcd holds of a set range. With no writes of the
// transaction in it, etcd applies limit itself.
func (t *tx) baseRange(zone, prefix, start string, limit int, keysOnly bool) ([]setKV, error) {
	if t.gone[zone] {
		return nil, nil
	}
	opts := []clientv3.OpOption{clientv3.WithRange(clientv3.GetPrefixRangeEnd(prefix))}
	if keysOnly {
		opts = append(opts, clientv3.WithKeysOnly())
	}
	if limit > 0 && !t.wroteUnder(prefix) {
		opts = append(opts, clientv3.WithLimit(int64(limit)))
	}
	resp, err := t.get(start, opts...)
	if err != nil {
		return nil, err
	}
	out := make([]setKV, len(resp.Kvs))
	for i, kv := range resp.Kvs {
		out[i] = setKV{key: string(kv.Key), val: kv.Value, rev: kv.ModRevision}
	}
	return out, nil
}

func (t *tx) wroteUnder(prefix string) bool {
	for key := range t.sets {
		if strings.HasPrefix(key, prefix) {
			return true
		}
	}
	return false
}

func (t *tx) PutZone(z record.Zone) error {
	z.Revision = 0
	val, err := json.Marshal(z)
	if err != nil {
		return fmt.Errorf("put zone %s: %w", z.Name, err)
	}
	t.zones[z.Name] = entry{val: val}
	t.events = append(t.events, logEvent{Kind: store.PutZone, Val: val})
	return nil
}

func (t *tx) DeleteZone(name string) error {
	if _, err := t.Zone(name); err != nil {
		return err
	}
	t.zones[name] = entry{del: true}
	t.gone[name] = true
	t.notes = slices.DeleteFunc(t.notes, func(tr record.Transition) bool { return tr.Key.Zone == name }) // its history goes with it
	prefix := t.s.keys.setsOf(name, "")
	for key := range t.sets {
		if strings.HasPrefix(key, prefix) {
			delete(t.sets, key)
		}
	}
	t.events = append(t.events, logEvent{Kind: store.DeleteZone, Name: name})
	return nil
}

func (t *tx) PutSet(s record.Set) error {
	if _, err := t.Zone(s.Zone); err != nil {
		if t.err != nil {
			return err
		}
		return fmt.Errorf("put record set %s: zone %q: %w", s.Key, s.Zone, store.ErrNotFound)
	}
	s.Revision = 0
	val, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("put record set %s: %w", s.Key, err)
	}
	t.sets[t.s.keys.set(s.Key)] = entry{val: val}
	t.events = append(t.events, logEvent{Kind: store.PutSet, Val: val})
	return nil
}

func (t *tx) DeleteSet(k record.Key) error {
	if _, err := t.Set(k); err != nil {
		return err
	}
	t.sets[t.s.keys.set(k)] = entry{del: true}
	key := k
	t.events = append(t.events, logEvent{Kind: store.DeleteSet, Key: &key})
	return nil
}

func decodeZone(val []byte, rev int64) (record.Zone, error) {
	var z record.Zone
	if err := json.Unmarshal(val, &z); err != nil {
		return z, fmt.Errorf("etcdstore: decode zone: %w", err)
	}
	z.Revision = rev
	return z, nil
}

func decodeSet(val []byte, rev int64) (record.Set, error) {
	var s record.Set
	if err := json.Unmarshal(val, &s); err != nil {
		return s, fmt.Errorf("etcdstore: decode record set: %w", err)
	}
	s.Revision = rev
	return s, nil
}
