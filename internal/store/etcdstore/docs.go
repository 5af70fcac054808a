package etcdstore

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/dnslb/dnslb/internal/store"
)

// Documents (store.Docs) are kept under PREFIX d/KIND/ID, the bytes as
// given. A transaction that writes documents also puts PREFIX dlog, and
// one that lists a kind compares it, so that two servers listing and
// writing documents at once are serialised like any other read and write.
// Neither key is the log key: documents alone make no store revision and
// no watch event (store.Docs), and a document written with zones or sets
// commits in their Txn.

// errReadOnlyDocs is what PutDoc and DeleteDoc answer in a View.
var errReadOnlyDocs = errors.New("docs: a read-only transaction cannot write documents")

func (k keys) doc(kind, id string) string { return k.prefix + "d/" + kind + "/" + id }
func (k keys) docsOf(kind string) string  { return k.prefix + "d/" + kind + "/" }
func (k keys) docsLog() string            { return k.prefix + "dlog" }

// Doc implements store.Docs.
func (t *tx) Doc(kind, id string) ([]byte, error) {
	if err := store.CheckDocName(kind, id); err != nil {
		return nil, err
	}
	key := t.s.keys.doc(kind, id)
	if e, ok := t.docs[key]; ok {
		if e.del {
			return nil, fmt.Errorf("document %s/%s: %w", kind, id, store.ErrNotFound)
		}
		return append([]byte(nil), e.val...), nil
	}
	v, err := t.getOne(key)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, fmt.Errorf("document %s/%s: %w", kind, id, store.ErrNotFound)
	}
	return v.val, nil // the response's own bytes
}

// DocsOf implements store.Docs.
func (t *tx) DocsOf(kind string) ([]store.Doc, error) {
	if err := store.CheckDocName(kind, "x"); err != nil {
		return nil, err
	}
	if _, err := t.getOne(t.s.keys.docsLog()); err != nil { // guards the listing
		return nil, err
	}
	prefix := t.s.keys.docsOf(kind)
	resp, err := t.get(prefix, clientv3.WithPrefix())
	if err != nil {
		return nil, err
	}
	byID := map[string][]byte{}
	for _, kv := range resp.Kvs {
		byID[strings.TrimPrefix(string(kv.Key), prefix)] = kv.Value
	}
	for key, e := range t.docs {
		if id, ok := strings.CutPrefix(key, prefix); ok {
			if e.del {
				delete(byID, id)
			} else {
				byID[id] = append([]byte(nil), e.val...)
			}
		}
	}
	out := make([]store.Doc, 0, len(byID))
	for id, data := range byID {
		out = append(out, store.Doc{ID: id, Data: data})
	}
	slices.SortFunc(out, func(a, b store.Doc) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// PutDoc implements store.Docs.
func (t *tx) PutDoc(kind, id string, data []byte) error {
	if t.ro {
		return errReadOnlyDocs
	}
	if err := store.CheckDoc(kind, id, data); err != nil {
		return err
	}
	t.docs[t.s.keys.doc(kind, id)] = entry{val: append([]byte{}, data...)}
	return nil
}

// DeleteDoc implements store.Docs.
func (t *tx) DeleteDoc(kind, id string) error {
	if t.ro {
		return errReadOnlyDocs
	}
	if _, err := t.Doc(kind, id); err != nil {
		return err
	}
	t.docs[t.s.keys.doc(kind, id)] = entry{del: true}
	return nil
}

// docOps are the writes of t's documents, with the docs log key.
func (t *tx) docOps() []clientv3.Op {
	if len(t.docs) == 0 {
		return nil
	}
	ops := make([]clientv3.Op, 0, len(t.docs)+1)
	for key, e := range t.docs {
		ops = append(ops, op(key, e))
	}
	return append(ops, clientv3.OpPut(t.s.keys.docsLog(), ""))
}

var _ store.Docs = (*tx)(nil)
