package storetest

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/store"
)

// RunDocs checks an implementation of store.Docs (the optional named
// documents), with open and reopen as for Run. It fails when the store's
// transactions do not implement store.Docs: call it only for stores that
// mean to.
func RunDocs(t *testing.T, open func(t *testing.T) store.Store, reopen func(t *testing.T, old store.Store) store.Store) {
	h := &harness{open: open, reopen: reopen}
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, *harness)
	}{
		{"PutGetDelete", testDocsPutGet},
		{"ListedByKind", testDocsList},
		{"RideWithTheChange", testDocsAtomic},
		{"AloneNoRevisionNoEvent", testDocsNoRevision},
		{"SurviveRestart", testDocsPersist},
		{"SurviveZoneDelete", testDocsZoneDelete},
		{"ReadOnlyCannotWrite", testDocsReadOnly},
		{"BadNamesRefused", testDocsBadNames},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, h)
		})
	}
}

func docsOf(t *testing.T, tx any) store.Docs {
	t.Helper()
	d, ok := tx.(store.Docs)
	if !ok {
		t.Fatalf("%T does not implement store.Docs", tx)
	}
	return d
}

// putDoc writes one document in its own transaction.
func putDoc(t *testing.T, st store.Store, kind, id, data string) int64 {
	t.Helper()
	return update(t, st, func(tx store.Tx) error { return docsOf(t, tx).PutDoc(kind, id, []byte(data)) })
}

// readDoc reads one document in a View.
func readDoc(t *testing.T, st store.Store, kind, id string) (string, error) {
	t.Helper()
	var data []byte
	_, err := st.View(t.Context(), func(tx store.ReadTx) (err error) {
		data, err = docsOf(t, tx).Doc(kind, id)
		return err
	})
	return string(data), err
}

// listDocs reads every document of kind in a View, as "id=data".
func listDocs(t *testing.T, st store.Store, kind string) []string {
	t.Helper()
	var out []string
	_, err := st.View(t.Context(), func(tx store.ReadTx) error {
		docs, err := docsOf(t, tx).DocsOf(kind)
		for _, d := range docs {
			out = append(out, d.ID+"="+string(d.Data))
		}
		return err
	})
	if err != nil {
		t.Fatalf("DocsOf(%s): %v", kind, err)
	}
	return out
}

// testDocsPutGet: a document reads back (in its own transaction too),
// shares no memory with the store, is replaced and deleted; a missing one
// is ErrNotFound.
func testDocsPutGet(t *testing.T, h *harness) {
	st := h.new(t)
	update(t, st, func(tx store.Tx) error {
		d := docsOf(t, tx)
		buf := []byte(`{"v":1}`)
		if err := d.PutDoc("check", "a", buf); err != nil {
			return err
		}
		buf[2] = 'X' // the caller's slice is not kept
		got, err := d.Doc("check", "a")
		if err != nil || string(got) != `{"v":1}` {
			t.Errorf("Doc in the writing transaction = %q, %v", got, err)
		}
		return nil
	})
	if got, err := readDoc(t, st, "check", "a"); err != nil || got != `{"v":1}` {
		t.Fatalf("Doc = %q, %v; want {\"v\":1}", got, err)
	}
	_, _ = st.View(t.Context(), func(tx store.ReadTx) error {
		got, _ := docsOf(t, tx).Doc("check", "a")
		got[2] = 'Y' // the returned slice is the caller's
		return nil
	})
	putDoc(t, st, "check", "a", `{"v":2}`)
	if got, err := readDoc(t, st, "check", "a"); err != nil || got != `{"v":2}` {
		t.Fatalf("Doc after a replace = %q, %v; want {\"v\":2}", got, err)
	}
	update(t, st, func(tx store.Tx) error { return docsOf(t, tx).DeleteDoc("check", "a") })
	_, err := readDoc(t, st, "check", "a")
	wantErr(t, "Doc after DeleteDoc", err, store.ErrNotFound)
	_, err = st.Update(t.Context(), func(tx store.Tx) error { return docsOf(t, tx).DeleteDoc("check", "a") })
	wantErr(t, "DeleteDoc of a missing document", err, store.ErrNotFound)
	_, err = readDoc(t, st, "never", "a")
	wantErr(t, "Doc of a kind without documents", err, store.ErrNotFound)
}

// testDocsList: DocsOf gives the documents of one kind, by id.
func testDocsList(t *testing.T, h *harness) {
	st := h.new(t)
	if got := listDocs(t, st, "check"); len(got) != 0 {
		t.Fatalf("DocsOf of an empty store = %v", got)
	}
	update(t, st, func(tx store.Tx) error {
		d := docsOf(t, tx)
		for _, id := range []string{"c", "a", "b"} {
			if err := d.PutDoc("check", id, []byte(id+"1")); err != nil {
				return err
			}
		}
		return d.PutDoc("other", "a", []byte("x"))
	})
	diff(t, "DocsOf(check)", []string{"a=a1", "b=b1", "c=c1"}, listDocs(t, st, "check"))
	diff(t, "DocsOf(other)", []string{"a=x"}, listDocs(t, st, "other"))
}

// testDocsAtomic: a document commits with the record set written in the
// same transaction, at its revision; a failed Update keeps neither.
func testDocsAtomic(t *testing.T, h *harness) {
	st := h.new(t)
	rev0 := put(t, st, newZone(zoneName))
	set := newSet(zoneName, "www."+zoneName, record.A, "a", "192.0.2.1")
	boom := errors.New("boom")
	_, err := st.Update(t.Context(), func(tx store.Tx) error {
		if err := tx.PutSet(set); err != nil {
			return err
		}
		if err := docsOf(t, tx).PutDoc("check", "a", []byte("1")); err != nil {
			return err
		}
		return boom
	})
	wantErr(t, "failed Update", err, boom)
	_, err = readDoc(t, st, "check", "a")
	wantErr(t, "Doc after a failed Update", err, store.ErrNotFound)
	rev := update(t, st, func(tx store.Tx) error {
		if err := tx.PutSet(set); err != nil {
			return err
		}
		return docsOf(t, tx).PutDoc("check", "a", []byte("1"))
	})
	if rev != rev0+1 {
		t.Fatalf("revision %d, want %d", rev, rev0+1)
	}
	if got, err := readDoc(t, st, "check", "a"); err != nil || got != "1" {
		t.Fatalf("Doc = %q, %v", got, err)
	}
}

// testDocsNoRevision: a document write alone makes no revision and no
// watch event; the next change is the next revision and the next event.
func testDocsNoRevision(t *testing.T, h *harness) {
	st := h.new(t)
	rev0 := put(t, st, newZone(zoneName))
	events := st.Watch(t.Context(), rev0)
	if got := putDoc(t, st, "check", "a", "1"); got != rev0 {
		t.Fatalf("a document alone made revision %d, want %d (none)", got, rev0)
	}
	if got := update(t, st, func(tx store.Tx) error { return docsOf(t, tx).DeleteDoc("check", "a") }); got != rev0 {
		t.Fatalf("a document deleted alone made revision %d, want %d (none)", got, rev0)
	}
	// The next change is the next event. Its revision follows rev0, not
	// necessarily at once: etcd's revisions count every key's writes.
	set := newSet(zoneName, "www."+zoneName, record.A, "a", "192.0.2.1")
	rev := put(t, st, set)
	ev := recv(t, events)
	if rev <= rev0 || ev.Rev != rev || ev.Kind != store.PutSet || !ev.Last {
		t.Fatalf("after document writes: revision %d, event %+v; want the put-set's revision, after %d", rev, ev, rev0)
	}
}

// testDocsPersist: documents are read back after a restart.
func testDocsPersist(t *testing.T, h *harness) {
	if h.reopen == nil {
		t.Skip("the store keeps nothing")
	}
	st := h.new(t)
	putDoc(t, st, "check", "a", `{"v":1}`)
	st = h.again(t, st)
	if got, err := readDoc(t, st, "check", "a"); err != nil || got != `{"v":1}` {
		t.Fatalf("Doc after a restart = %q, %v", got, err)
	}
}

// testDocsZoneDelete: deleting a zone keeps every document.
func testDocsZoneDelete(t *testing.T, h *harness) {
	st := h.new(t)
	put(t, st, newZone(zoneName))
	putDoc(t, st, "check", "a", "1")
	update(t, st, func(tx store.Tx) error { return tx.DeleteZone(zoneName) })
	if got, err := readDoc(t, st, "check", "a"); err != nil || got != "1" {
		t.Fatalf("Doc after a zone was deleted = %q, %v", got, err)
	}
}

// testDocsReadOnly: a View cannot write documents.
func testDocsReadOnly(t *testing.T, h *harness) {
	st := h.new(t)
	putDoc(t, st, "check", "a", "1")
	_, _ = st.View(t.Context(), func(tx store.ReadTx) error {
		d := docsOf(t, tx)
		if err := d.PutDoc("check", "b", []byte("1")); err == nil {
			t.Error("PutDoc in a View succeeded")
		}
		if err := d.DeleteDoc("check", "a"); err == nil {
			t.Error("DeleteDoc in a View succeeded")
		}
		return nil
	})
	if got, err := readDoc(t, st, "check", "a"); err != nil || got != "1" {
		t.Fatalf("Doc = %q, %v", got, err)
	}
}

// testDocsBadNames: kinds, ids and sizes outside CheckDoc are refused
// with ErrBadDoc, and write nothing.
func testDocsBadNames(t *testing.T, h *harness) {
	st := h.new(t)
	for _, c := range []struct{ kind, id, data string }{
		{"", "a", "1"}, {"Check", "a", "1"}, {"a/b", "c", "1"}, {"check", "", "1"},
		{"check", "a/b", "1"}, {"check", "a\x00b", "1"}, {"check", "big", strings.Repeat("x", store.MaxDocSize+1)},
	} {
		_, err := st.Update(t.Context(), func(tx store.Tx) error { return docsOf(t, tx).PutDoc(c.kind, c.id, []byte(c.data)) })
		wantErr(t, "PutDoc("+c.kind+", "+c.id+")", err, store.ErrBadDoc)
	}
	if got := listDocs(t, st, "check"); len(got) != 0 {
		t.Fatalf("refused documents were written: %d", len(got))
	}
	putDoc(t, st, "check", "max", string(bytes.Repeat([]byte("x"), store.MaxDocSize)))
}
