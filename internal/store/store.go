// Package store defines how dnslb keeps zones and record sets: a Store with
// serializable read-write transactions, a revision that grows with every
// committed change, and a watch that replays changes in revision order.
//
// Implementations live in sub-packages (boltstore is the embedded default);
// storetest holds the conformance suite every implementation must pass.
package store

import (
	"context"
	"errors"

	"github.com/dnslb/dnslb/internal/record"
)

// Errors shared by every implementation.
var (
	// ErrNotFound: the zone or record set does not exist.
	ErrNotFound = errors.New("not found")
	// ErrCompacted: a watch asked for revisions the store no longer keeps;
	// the watcher must read the whole state again with View.
	ErrCompacted = errors.New("revision compacted")
	// ErrClosed: the store has been closed.
	ErrClosed = errors.New("store closed")
	// ErrFull: a write failed for lack of space (disk full, quota); the
	// store stays readable, and writes work again once space is freed.
	ErrFull = errors.New("storage full")
	// ErrUnavailable: the store cannot be reached (etcd down or cut off);
	// nothing was written, or, for a write that timed out in flight, its
	// outcome is unknown (the error says which). Reads of what a server
	// already loaded go on; writes work again once the store is back.
	ErrUnavailable = errors.New("store unavailable")
)

// Availability is implemented by stores that can lose their backend while
// the process runs (etcdstore). Unavailable returns nil while the store
// answers, and otherwise an error wrapping ErrUnavailable that says what
// is unreachable and since when. It is cheap: it reports what the store
// last saw, and never waits for the backend.
type Availability interface {
	Unavailable() error
}

// Store is durable, transactional storage for zones and record sets.
//
// Update runs fn in a serializable read-write transaction. If fn returns an
// error nothing is written and that error is returned unchanged; otherwise
// the changes are committed durably (fsynced) before Update returns, as one
// new revision, which Update returns. An Update that writes nothing does not
// create a revision and returns the current one.
//
// View runs fn in a read-only transaction and returns the revision it saw.
//
// fn must not call methods of the Store, nor keep its transaction after it
// returns. Update and View run nothing and return ctx's error when ctx has
// already ended, and ErrClosed after Close; Watch then returns a closed
// channel.
//
// Watch delivers, in order, every change committed after revision from;
// FromNow starts at the current revision. An empty store is at its first
// revision (0 for bbolt; etcd's revisions start at 1), and View's revision
// is always a correct from: a reader that loads
// with View and then watches misses nothing, even a write that commits
// between the two calls. The channel is closed when ctx ends or the store
// closes; a watcher that asked for a compacted revision, or fell that far
// behind, gets one Event whose Err is ErrCompacted and then a closed
// channel. A slow watcher never holds up Update.
//
// Close waits for transactions in flight and ends every watch; later calls
// return ErrClosed.
//
// storetest.Run checks all of this for an implementation.
// FromNow, as Watch's from, starts the watch at the current revision.
const FromNow int64 = -1

type Store interface {
	Update(ctx context.Context, fn func(Tx) error) (rev int64, err error)
	View(ctx context.Context, fn func(ReadTx) error) (rev int64, err error)
	Watch(ctx context.Context, from int64) <-chan Event
	Close() error
}

// ReadTx reads one consistent revision. Errors may wrap ErrNotFound with
// context; test them with errors.Is. Values returned share no memory with
// the store.
type ReadTx interface {
	// Zone returns the zone named name (canonical), or ErrNotFound.
	Zone(name string) (record.Zone, error)
	// Zones returns all zones ordered by name.
	Zones() ([]record.Zone, error)
	// Set returns the record set with key k, or ErrNotFound.
	Set(k record.Key) (record.Set, error)
	// Sets returns the record sets of zone ordered by name, type and set
	// id (as Go compares strings); only those of name when name is not
	// empty.
	Sets(zone, name string) ([]record.Set, error)
	// SetsPage returns at most limit record sets of Sets(zone, name)
	// (all of them when limit <= 0), starting after the set with key
	// after (from the first when after is the zero Key; after need not
	// exist). A page shorter than limit is the last.
	SetsPage(zone, name string, after record.Key, limit int) ([]record.Set, error)
	// Keys is SetsPage without reading the sets: just their keys.
	Keys(zone string, after record.Key, limit int) ([]record.Key, error)
}

// Tx is a read-write transaction. Reads see the transaction's own writes.
// Put methods set the Revision field of what they store.
type Tx interface {
	ReadTx
	PutZone(z record.Zone) error
	// DeleteZone deletes zone name and all its record sets, or returns
	// ErrNotFound.
	DeleteZone(name string) error
	// PutSet creates or replaces a record set; its zone must exist, or
	// the error wraps ErrNotFound and names the zone.
	PutSet(s record.Set) error
	// DeleteSet deletes a record set, or returns ErrNotFound.
	DeleteSet(k record.Key) error
}

// Kind says what an Event did.
type Kind int

// Event kinds.
const (
	PutZone Kind = iota + 1
	DeleteZone
	PutSet
	DeleteSet
)

func (k Kind) String() string {
	switch k {
	case PutZone:
		return "put-zone"
	case DeleteZone:
		return "delete-zone"
	case PutSet:
		return "put-set"
	case DeleteSet:
		return "delete-set"
	}
	return "unknown"
}

// Event is one change, in the order it was committed. Events of one
// transaction share its revision and arrive together, in the order the
// transaction made them. Deleting a zone is one DeleteZone event; its record
// sets are gone with it and get no events of their own. Watchers may share
// an Event's slices, maps and pointers: treat them as read-only.
//
// Last marks the final event of its transaction, so a watcher can act on
// whole revisions only: a reader that drains the channel without blocking
// may otherwise stop in the middle of a large transaction.
type Event struct {
	Rev  int64
	Kind Kind
	Zone record.Zone // PutZone: the new zone; DeleteZone: Name only
	Set  record.Set  // PutSet: the new set; DeleteSet: Key only
	Last bool        // the last event of revision Rev
	Err  error       // set on a terminal event (ErrCompacted)
}
