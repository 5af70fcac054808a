package store

import "github.com/dnslb/dnslb/internal/record"

// Journal is an optional part of a store: a bounded history of record set
// transitions per name, kept with the data so that it survives restarts.
// A store offers it when its transactions implement Journal (test with a
// type assertion on the Tx or ReadTx); callers without one keep no
// history. storetest.RunJournal checks an implementation.
//
// Note appends t to the history of t.Key's zone and name inside the
// transaction, so it commits or rolls back with the change it describes;
// it sets t.Revision to the revision of the transaction's changes made so
// far, or to the current revision when it has made none (a journal entry
// alone makes no revision and no watch event). Only the newest
// HistoryLimit entries of a name are kept. On a read-only transaction
// Note fails.
//
// History returns the kept entries of zone and name, oldest first; none
// (and no error) for a name without history. Deleting a zone deletes the
// history of its names.
type Journal interface {
	Note(t record.Transition) error
	History(zone, name string) ([]record.Transition, error)
}

// HistoryLimit is how many transitions a Journal keeps per name.
const HistoryLimit = 200
