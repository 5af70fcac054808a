package boltstore

import (
	"bytes"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/store"
)

// tx implements store.Tx over a bbolt transaction.
type tx struct {
	btx    *bolt.Tx
	rev    int64 // the revision this transaction commits as
	events []store.Event
}

// setKey is zone \x00 name \x00 type \x00 setid, so sets of a zone and of a
// name are prefix ranges.
func setKey(k record.Key) []byte {
	return []byte(k.Zone + "\x00" + k.Name + "\x00" + string(k.Type) + "\x00" + k.SetID)
}

func (t *tx) Zone(name string) (record.Zone, error) {
	var z record.Zone
	v := t.btx.Bucket(bucketZones).Get([]byte(name))
	if v == nil {
		return z, store.ErrNotFound
	}
	return z, decode(v, &z)
}

func (t *tx) Zones() ([]record.Zone, error) {
	var zones []record.Zone
	err := t.btx.Bucket(bucketZones).ForEach(func(_, v []byte) error {
		var z record.Zone
		if err := decode(v, &z); err != nil {
			return err
		}
		zones = append(zones, z)
		return nil
	})
	return zones, err
}

func (t *tx) Set(k record.Key) (record.Set, error) {
	var s record.Set
	v := t.btx.Bucket(bucketSets).Get(setKey(k))
	if v == nil {
		return s, store.ErrNotFound
	}
	return s, decode(v, &s)
}

func (t *tx) Sets(zone, name string) ([]record.Set, error) {
	prefix := []byte(zone + "\x00")
	if name != "" {
		prefix = append(prefix, name+"\x00"...)
	}
	var sets []record.Set
	c := t.btx.Bucket(bucketSets).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		var s record.Set
		if err := decode(v, &s); err != nil {
			return nil, err
		}
		sets = append(sets, s)
	}
	return sets, nil
}

func (t *tx) writable() error {
	if t.rev == 0 {
		return fmt.Errorf("write in a read-only transaction")
	}
	return nil
}

func (t *tx) PutZone(z record.Zone) error {
	if err := t.writable(); err != nil {
		return err
	}
	z.Revision = t.rev
	v, err := encode(z)
	if err != nil {
		return err
	}
	if err := t.btx.Bucket(bucketZones).Put([]byte(z.Name), v); err != nil {
		return err
	}
	t.events = append(t.events, store.Event{Rev: t.rev, Kind: store.PutZone, Zone: z})
	return nil
}

func (t *tx) DeleteZone(name string) error {
	if err := t.writable(); err != nil {
		return err
	}
	zones := t.btx.Bucket(bucketZones)
	if zones.Get([]byte(name)) == nil {
		return store.ErrNotFound
	}
	if err := zones.Delete([]byte(name)); err != nil {
		return err
	}
	if err := t.deletePrefix([]byte(name + "\x00")); err != nil {
		return err
	}
	t.events = append(t.events, store.Event{Rev: t.rev, Kind: store.DeleteZone, Zone: record.Zone{Name: name}})
	return nil
}

func (t *tx) deletePrefix(prefix []byte) error {
	c := t.btx.Bucket(bucketSets).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Seek(prefix) {
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}

func (t *tx) PutSet(s record.Set) error {
	if err := t.writable(); err != nil {
		return err
	}
	if t.btx.Bucket(bucketZones).Get([]byte(s.Zone)) == nil {
		return fmt.Errorf("zone %s: %w", s.Zone, store.ErrNotFound)
	}
	s.Revision = t.rev
	v, err := encode(s)
	if err != nil {
		return err
	}
	if err := t.btx.Bucket(bucketSets).Put(setKey(s.Key), v); err != nil {
		return err
	}
	t.events = append(t.events, store.Event{Rev: t.rev, Kind: store.PutSet, Set: s})
	return nil
}

func (t *tx) DeleteSet(k record.Key) error {
	if err := t.writable(); err != nil {
		return err
	}
	sets := t.btx.Bucket(bucketSets)
	key := setKey(k)
	if sets.Get(key) == nil {
		return store.ErrNotFound
	}
	if err := sets.Delete(key); err != nil {
		return err
	}
	t.events = append(t.events, store.Event{Rev: t.rev, Kind: store.DeleteSet, Set: record.Set{Key: k}})
	return nil
}
