package registry

import (
	"errors"
	"fmt"
	"time"
)

// DefaultVisibleWait is how long a write waits, after its commit, for DNS
// answers to carry it (Options.VisibleWait).
const DefaultVisibleWait = 5 * time.Second

// ErrNotVisible: a write is committed (durable, and it will be in DNS
// answers without anything more being done) but answers did not carry it
// yet when the wait for them ended. Sending the write again is not needed,
// and for a create it fails with ErrExists.
var ErrNotVisible = errors.New("committed but not yet in DNS answers")

// NotVisibleError is ErrNotVisible with the revision that was committed
// (0 when it is not known, as for a renewal, which writes nothing) and
// why the wait ended.
type NotVisibleError struct {
	Revision int64
	Err      error
}

func (e *NotVisibleError) Error() string {
	if e.Revision == 0 {
		return fmt.Sprintf("change %v: %v", ErrNotVisible, e.Err)
	}
	return fmt.Sprintf("change %v (revision %d): %v", ErrNotVisible, e.Revision, e.Err)
}

// Unwrap returns ErrNotVisible and the cause, for errors.Is.
func (e *NotVisibleError) Unwrap() []error { return []error{ErrNotVisible, e.Err} }

// atRevision sets the revision of a *NotVisibleError; other errors pass.
func atRevision(err error, rev int64) error {
	var nv *NotVisibleError
	if errors.As(err, &nv) {
		nv.Revision = rev
	}
	return err
}
