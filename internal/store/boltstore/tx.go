package boltstore

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/store"
)

// errTxDone is returned by a transaction used after its View or Update
// returned; bbolt would read unmapped memory.
var errTxDone = errors.New("transaction used after its View or Update returned")

// setKey is zone \x00 name \x00 type \x00 set id, so the sets of a zone and
// of a name are prefix ranges, ordered by name, type and set id.
func setKey(k record.Key) []byte {
	return []byte(k.Zone + "\x00" + k.Name + "\x00" + string(k.Type) + "\x00" + k.SetID)
}

// setPrefix is the key prefix of the sets of zone, or of name in zone.
func setPrefix(zone, name string) []byte {
	p := zone + "\x00"
	if name != "" {
		p += name + "\x00"
	}
	return []byte(p)
}

// readTx implements store.ReadTx over a bbolt transaction.
type readTx struct {
	btx *bolt.Tx
}

func (t readTx) bucket(name []byte) (*bolt.Bucket, error) {
	if t.btx.DB() == nil {
		return nil, errTxDone
	}
	return t.btx.Bucket(name), nil
}

func (t readTx) Zone(name string) (record.Zone, error) {
	var z record.Zone
	err := t.get(bucketZones, []byte(name), &z)
	if errors.Is(err, store.ErrNotFound) {
		return z, fmt.Errorf("zone %s: %w", name, store.ErrNotFound)
	}
	return z, err
}

func (t readTx) Zones() ([]record.Zone, error) {
	b, err := t.bucket(bucketZones)
	if err != nil {
		return nil, err
	}
	var zones []record.Zone
	err = b.ForEach(func(k, v []byte) error {
		var z record.Zone
		if err := decode(k, v, &z); err != nil {
			return err
		}
		zones = append(zones, z)
		return nil
	})
	return zones, err
}

func (t readTx) Set(k record.Key) (record.Set, error) {
	var s record.Set
	err := t.get(bucketSets, setKey(k), &s)
	if errors.Is(err, store.ErrNotFound) {
		return s, fmt.Errorf("record set %s: %w", k, store.ErrNotFound)
	}
	return s, err
}

func (t readTx) Sets(zone, name string) ([]record.Set, error) {
	b, err := t.bucket(bucketSets)
	if err != nil {
		return nil, err
	}
	prefix := setPrefix(zone, name)
	var sets []record.Set
	c := b.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		var s record.Set
		if err := decode(k, v, &s); err != nil {
			return nil, err
		}
		sets = append(sets, s)
	}
	return sets, nil
}

func (t readTx) SetsPage(zone, name string, after record.Key, limit int) ([]record.Set, error) {
	var sets []record.Set
	err := t.scan(setPrefix(zone, name), zone, after, limit, func(k, v []byte) error {
		var s record.Set
		if err := decode(k, v, &s); err != nil {
			return err
		}
		sets = append(sets, s)
		return nil
	})
	return sets, err
}

func (t readTx) Keys(zone string, after record.Key, limit int) ([]record.Key, error) {
	var keys []record.Key
	err := t.scan(setPrefix(zone, ""), zone, after, limit, func(k, _ []byte) error {
		key, err := parseSetKey(k)
		keys = append(keys, key)
		return err
	})
	return keys, err
}

// scan calls fn for at most limit (all when limit <= 0) entries of the
// sets bucket under prefix, starting after the key of after in zone.
func (t readTx) scan(prefix []byte, zone string, after record.Key, limit int, fn func(k, v []byte) error) error {
	b, err := t.bucket(bucketSets)
	if err != nil {
		return err
	}
	c := b.Cursor()
	k, v := c.Seek(prefix)
	if after != (record.Key{}) {
		after.Zone = zone
		if start := setKey(after); bytes.Compare(start, prefix) >= 0 {
			if k, v = c.Seek(start); bytes.Equal(k, start) {
				k, v = c.Next()
			}
		}
	}
	for n := 0; k != nil && bytes.HasPrefix(k, prefix) && (limit <= 0 || n < limit); k, v = c.Next() {
		if err := fn(k, v); err != nil {
			return err
		}
		n++
	}
	return nil
}

// parseSetKey is the inverse of setKey.
func parseSetKey(k []byte) (record.Key, error) {
	parts := bytes.Split(k, []byte{0})
	if len(parts) != 4 {
		return record.Key{}, fmt.Errorf("corrupt record set key %q", k)
	}
	return record.Key{Zone: string(parts[0]), Name: string(parts[1]), Type: record.Type(parts[2]), SetID: string(parts[3])}, nil
}

// get decodes the value at key of bucket into v, or returns ErrNotFound.
func (t readTx) get(bucket, key []byte, v any) error {
	b, err := t.bucket(bucket)
	if err != nil {
		return err
	}
	data := b.Get(key)
	if data == nil {
		return store.ErrNotFound
	}
	return decode(key, data, v)
}

func decode(key, data []byte, v any) error {
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%w: entry %q: %v", ErrDamaged, key, err)
	}
	return nil
}

// writeTx implements store.Tx. Every put stamps rev, the revision the
// transaction commits as, and every change is recorded as an event.
type writeTx struct {
	readTx
	rev    int64
	events []store.Event
}

func (t *writeTx) PutZone(z record.Zone) error {
	z.Revision = t.rev
	var stored record.Zone
	if err := t.put(bucketZones, []byte(z.Name), z, &stored); err != nil {
		return fmt.Errorf("put zone %q: %w", z.Name, err)
	}
	t.events = append(t.events, store.Event{Rev: t.rev, Kind: store.PutZone, Zone: stored})
	return nil
}

func (t *writeTx) DeleteZone(name string) error {
	zones, err := t.bucket(bucketZones)
	if err != nil {
		return err
	}
	if zones.Get([]byte(name)) == nil {
		return fmt.Errorf("zone %s: %w", name, store.ErrNotFound)
	}
	if err := zones.Delete([]byte(name)); err != nil {
		return fmt.Errorf("delete zone %s: %w", name, err)
	}
	if err := t.deleteSets(setPrefix(name, "")); err != nil {
		return fmt.Errorf("delete record sets of zone %s: %w", name, err)
	}
	if err := t.deleteJournal(name); err != nil {
		return fmt.Errorf("delete history of zone %s: %w", name, err)
	}
	t.events = append(t.events, store.Event{Rev: t.rev, Kind: store.DeleteZone, Zone: record.Zone{Name: name}})
	return nil
}

// deleteSets deletes every set whose key starts with prefix.
func (t *writeTx) deleteSets(prefix []byte) error {
	c := t.btx.Bucket(bucketSets).Cursor()
	// Seek again after each Delete: a bbolt cursor may skip a key when
	// Next follows Delete.
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Seek(prefix) {
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}

func (t *writeTx) PutSet(s record.Set) error {
	zones, err := t.bucket(bucketZones)
	if err != nil {
		return err
	}
	if zones.Get([]byte(s.Zone)) == nil {
		return fmt.Errorf("put record set %s: zone %q: %w", s.Key, s.Zone, store.ErrNotFound)
	}
	s.Revision = t.rev
	var stored record.Set
	if err := t.put(bucketSets, setKey(s.Key), s, &stored); err != nil {
		return fmt.Errorf("put record set %s: %w", s.Key, err)
	}
	t.events = append(t.events, store.Event{Rev: t.rev, Kind: store.PutSet, Set: stored})
	return nil
}

func (t *writeTx) DeleteSet(k record.Key) error {
	sets, err := t.bucket(bucketSets)
	if err != nil {
		return err
	}
	key := setKey(k)
	if sets.Get(key) == nil {
		return fmt.Errorf("record set %s: %w", k, store.ErrNotFound)
	}
	if err := sets.Delete(key); err != nil {
		return fmt.Errorf("delete record set %s: %w", k, err)
	}
	t.events = append(t.events, store.Event{Rev: t.rev, Kind: store.DeleteSet, Set: record.Set{Key: k}})
	return nil
}

// put stores v as JSON at key of bucket, then decodes the stored bytes into
// stored, which must be a new zero value: a deep copy for the event, shared
// with no caller and equal to what a later read returns.
func (t *writeTx) put(bucket, key []byte, v, stored any) error {
	b, err := t.bucket(bucket)
	if err != nil {
		return err
	}
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if err := b.Put(key, data); err != nil {
		return err
	}
	return decode(key, data, stored)
}
