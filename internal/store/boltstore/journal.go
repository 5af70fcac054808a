package boltstore

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/store"
)

// The journal (store.Journal) lives in its own bucket, made on the first
// entry: journal / zone / name / sequence (8 bytes, big-endian) -> the
// transition as JSON. A name's bucket keeps its next sequence number; the
// entry HistoryLimit behind the new one is deleted as it is added, so a
// name holds at most HistoryLimit entries and appending costs two puts.

var (
	bucketJournal = []byte("journal")
	keyNextSeq    = []byte("next") // shorter than 8 bytes: never an entry
)

// errReadOnly is what Note answers in a View.
var errReadOnly = errors.New("journal: a read-only transaction cannot note a transition")

// Note implements store.Journal; a read-only transaction cannot note.
func (t readTx) Note(record.Transition) error { return errReadOnly }

// History implements store.Journal.
func (t readTx) History(zone, name string) ([]record.Transition, error) {
	if t.btx.DB() == nil {
		return nil, errTxDone
	}
	b := nameJournal(t.btx, zone, name)
	if b == nil {
		return nil, nil
	}
	var out []record.Transition
	err := b.ForEach(func(k, v []byte) error {
		if len(k) != 8 {
			return nil
		}
		var tr record.Transition
		if err := decode(k, v, &tr); err != nil {
			return err
		}
		out = append(out, tr)
		return nil
	})
	return out, err
}

// nameJournal is the journal bucket of zone and name, nil if none.
func nameJournal(btx *bolt.Tx, zone, name string) *bolt.Bucket {
	b := btx.Bucket(bucketJournal)
	if b != nil {
		b = b.Bucket([]byte(zone))
	}
	if b != nil {
		b = b.Bucket([]byte(name))
	}
	return b
}

// Note implements store.Journal.
func (t *writeTx) Note(tr record.Transition) error {
	if t.btx.DB() == nil {
		return errTxDone
	}
	tr.Revision = t.rev
	if len(t.events) == 0 {
		tr.Revision = t.rev - 1
	}
	b, err := t.journalOf(tr.Key.Zone, tr.Key.Name)
	if err != nil {
		return fmt.Errorf("note transition of %s: %w", tr.Key, err)
	}
	seq := uint64(0)
	if v := b.Get(keyNextSeq); len(v) == 8 {
		seq = binary.BigEndian.Uint64(v)
	}
	data, err := json.Marshal(tr)
	if err != nil {
		return err
	}
	if err := errors.Join(b.Put(seqKey(seq), data), b.Put(keyNextSeq, seqKey(seq+1))); err != nil {
		return fmt.Errorf("note transition of %s: %w", tr.Key, err)
	}
	if seq >= store.HistoryLimit {
		return b.Delete(seqKey(seq - store.HistoryLimit))
	}
	return nil
}

// journalOf makes (if needed) and returns the journal bucket of a name.
func (t *writeTx) journalOf(zone, name string) (*bolt.Bucket, error) {
	b, err := t.btx.CreateBucketIfNotExists(bucketJournal)
	if err != nil {
		return nil, err
	}
	if b, err = b.CreateBucketIfNotExists([]byte(zone)); err != nil {
		return nil, err
	}
	return b.CreateBucketIfNotExists([]byte(name))
}

func seqKey(n uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], n)
	return b[:]
}

// deleteJournal drops the history of every name of zone.
func (t *writeTx) deleteJournal(zone string) error {
	b := t.btx.Bucket(bucketJournal)
	if b == nil || b.Bucket([]byte(zone)) == nil {
		return nil
	}
	return b.DeleteBucket([]byte(zone))
}

var _ store.Journal = (*writeTx)(nil)
var _ store.Journal = readTx{}
