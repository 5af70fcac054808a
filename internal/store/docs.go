package store

import (
	"errors"
	"fmt"
	"strings"
)

// Docs is an optional part of a store: small named documents (opaque
// bytes, in practice JSON) kept with the data, by kind and id, such as the
// Route 53 API's health checks. A store offers it when its transactions
// implement Docs (test with a type assertion on the Tx or ReadTx); a
// caller finding none says the store cannot keep what it needs.
// storetest.RunDocs checks an implementation.
//
// Documents commit or roll back with the transaction that writes them,
// with its zones and record sets. Like a Journal entry, a document write
// alone makes no revision and no watch event: every revision carries
// events (watchers and the registry's publishing rely on it), and
// documents are read where they are needed, in a View or Update, which
// every server sharing the store sees at once. A document written with
// other changes rides their revision. Deleting a zone keeps every
// document. On a read-only transaction PutDoc and DeleteDoc fail.
//
// Doc returns the document kind/id, or an error wrapping ErrNotFound;
// DocsOf returns every document of kind, ordered by id. Values returned
// share no memory with the store. PutDoc creates or replaces a document
// (data of at most MaxDocSize bytes); DeleteDoc deletes one, or returns
// an error wrapping ErrNotFound. Kind and id are checked by CheckDocName.
type Docs interface {
	Doc(kind, id string) ([]byte, error)
	DocsOf(kind string) ([]Doc, error)
	PutDoc(kind, id string, data []byte) error
	DeleteDoc(kind, id string) error
}

// Doc is one document.
type Doc struct {
	ID   string
	Data []byte
}

// MaxDocSize is the largest document a Docs keeps: small enough for any
// backend's single write (etcd's default request limit is 1.5 MiB).
const MaxDocSize = 256 << 10

// ErrBadDoc: a document's kind, id or size is not allowed.
var ErrBadDoc = errors.New("invalid document")

// CheckDocName checks a document's kind and id: a kind is 1..64 lower-case
// letters, digits and '-'; an id is 1..256 bytes without '/' or NUL, so
// every backend can make a key of them.
func CheckDocName(kind, id string) error {
	if kind == "" || len(kind) > 64 || strings.Trim(kind, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
		return fmt.Errorf("%w: kind %q: want 1..64 of a-z, 0-9 and '-'", ErrBadDoc, kind)
	}
	if id == "" || len(id) > 256 || strings.ContainsAny(id, "/\x00") {
		return fmt.Errorf("%w: id %q: want 1..256 bytes without '/' or NUL", ErrBadDoc, id)
	}
	return nil
}

// CheckDoc is CheckDocName and the size limit of data.
func CheckDoc(kind, id string, data []byte) error {
	if err := CheckDocName(kind, id); err != nil {
		return err
	}
	if len(data) > MaxDocSize {
		return fmt.Errorf("%w: %s/%s is %d bytes; at most %d are allowed", ErrBadDoc, kind, id, len(data), MaxDocSize)
	}
	return nil
}
