package boltstore

import (
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/dnslb/dnslb/internal/store"
)

// Documents (store.Docs) live in their own bucket, made on the first one:
// docs / kind / id -> the bytes as given. Being in the data file, they are
// in every Backup and come back with a restore.

var bucketDocs = []byte("docs")

// errReadOnlyDocs is what PutDoc and DeleteDoc answer in a View.
var errReadOnlyDocs = errors.New("docs: a read-only transaction cannot write documents")

// Doc implements store.Docs.
func (t readTx) Doc(kind, id string) ([]byte, error) {
	if err := store.CheckDocName(kind, id); err != nil {
		return nil, err
	}
	b, err := t.kindBucket(kind)
	if err != nil {
		return nil, err
	}
	var v []byte
	if b != nil {
		v = b.Get([]byte(id))
	}
	if v == nil {
		return nil, fmt.Errorf("document %s/%s: %w", kind, id, store.ErrNotFound)
	}
	return append([]byte(nil), v...), nil
}

// DocsOf implements store.Docs.
func (t readTx) DocsOf(kind string) ([]store.Doc, error) {
	if err := store.CheckDocName(kind, "x"); err != nil {
		return nil, err
	}
	b, err := t.kindBucket(kind)
	if b == nil || err != nil {
		return nil, err
	}
	var out []store.Doc
	err = b.ForEach(func(k, v []byte) error {
		out = append(out, store.Doc{ID: string(k), Data: append([]byte(nil), v...)})
		return nil
	})
	return out, err
}

// kindBucket is the bucket of kind, nil if it has no documents yet.
func (t readTx) kindBucket(kind string) (*bolt.Bucket, error) {
	b, err := t.bucket(bucketDocs)
	if b == nil || err != nil {
		return nil, err
	}
	return b.Bucket([]byte(kind)), nil
}

// PutDoc implements store.Docs; a read-only transaction cannot write.
func (t readTx) PutDoc(string, string, []byte) error { return errReadOnlyDocs }

// DeleteDoc implements store.Docs; a read-only transaction cannot write.
func (t readTx) DeleteDoc(string, string) error { return errReadOnlyDocs }

// PutDoc implements store.Docs.
func (t *writeTx) PutDoc(kind, id string, data []byte) error {
	if err := store.CheckDoc(kind, id, data); err != nil {
		return err
	}
	if t.btx.DB() == nil {
		return errTxDone
	}
	b, err := t.btx.CreateBucketIfNotExists(bucketDocs)
	if err == nil {
		b, err = b.CreateBucketIfNotExists([]byte(kind))
	}
	if err == nil {
		err = b.Put([]byte(id), append([]byte{}, data...))
	}
	if err != nil {
		return fmt.Errorf("put document %s/%s: %w", kind, id, err)
	}
	return nil
}

// DeleteDoc implements store.Docs.
func (t *writeTx) DeleteDoc(kind, id string) error {
	if _, err := t.Doc(kind, id); err != nil {
		return err
	}
	b, _ := t.kindBucket(kind) // exists: Doc found the document
	if err := b.Delete([]byte(id)); err != nil {
		return fmt.Errorf("delete document %s/%s: %w", kind, id, err)
	}
	return nil
}

var _ store.Docs = (*writeTx)(nil)
var _ store.Docs = readTx{}
