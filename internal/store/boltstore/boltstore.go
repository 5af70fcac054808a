// Package boltstore is dnslb's embedded store: one bbolt file, fsynced on
// every commit, with an in-memory log of recent changes for watchers.
//
// The file holds three buckets: meta (the revision counter), zones (keyed by
// zone name) and sets (keyed by zone \x00 name \x00 type \x00 set id, so the
// sets of a zone or of a name are one prefix range). Values are JSON.
//
// The watch log lives in memory only: after a restart the revision carries
// on from the file, but watching from a revision before the restart yields
// store.ErrCompacted.
package boltstore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/dnslb/dnslb/internal/store"
)

// Defaults for Options.
const (
	DefaultWatchHistory = 10000
	DefaultLockTimeout  = time.Second
)

var (
	bucketMeta  = []byte("meta")
	bucketZones = []byte("zones")
	bucketSets  = []byte("sets")
	keyRev      = []byte("revision")
)

// Options configure Open. The zero value is usable.
type Options struct {
	// Logger receives debug messages; nil discards them.
	Logger *slog.Logger
	// WatchHistory is how many of the newest revisions keep their events in
	// memory for watchers that start late or fall behind; older ones get
	// store.ErrCompacted (default DefaultWatchHistory).
	WatchHistory int
	// LockTimeout is how long Open waits for another process to release
	// the file (default DefaultLockTimeout), so a second server on the same
	// data file fails fast.
	LockTimeout time.Duration
}

func (o *Options) setDefaults() {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.WatchHistory <= 0 {
		o.WatchHistory = DefaultWatchHistory
	}
	if o.LockTimeout <= 0 {
		o.LockTimeout = DefaultLockTimeout
	}
}

// Store is a store.Store on a bbolt file. Its methods are safe for
// concurrent use.
type Store struct {
	db   *bolt.DB
	path string
	log  *slog.Logger
	hist *history

	// life is held shared by every transaction and by Watch while it
	// registers, and exclusively by Close: Close waits for transactions in
	// flight, and nothing starts after it.
	life   sync.RWMutex
	closed bool // guarded by life

	// commitMu serializes Update from commit to publish, so the watch log
	// receives revisions in commit order.
	commitMu sync.Mutex

	done     chan struct{}  // closed by Close; stops the watchers
	watchers sync.WaitGroup // one per Watch goroutine

	full fullState // set while writes fail for lack of space
}

var _ store.Store = (*Store)(nil)

// Open opens the store file at path, creating the file (not its directory)
// if it is missing. It fails after Options.LockTimeout if another process
// has the file open.
func Open(path string, opts Options) (*Store, error) {
	opts.setDefaults()
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return nil, fmt.Errorf("data file %s is a directory; give the path of a file, e.g. %s/dnslb.db", path, path)
	}
	db, err := openChecked(path, opts.LockTimeout)
	if err != nil {
		return nil, err
	}
	rev, err := initFile(db)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("data file %s: %w", path, err)
	}
	opts.Logger.Debug("store opened", "path", path, "revision", rev)
	return &Store{
		db:   db,
		path: path,
		log:  opts.Logger,
		hist: newHistory(rev, opts.WatchHistory),
		done: make(chan struct{}),
	}, nil
}

// openError says why bbolt could not open path and, where it can, what to
// do about it.
func openError(path string, err error) error {
	var pe *fs.PathError
	if errors.Is(err, ErrDamaged) {
		return err
	}
	if errors.As(err, &pe) && pe.Path == path {
		err = pe.Err // the path is in our message already
	}
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return fmt.Errorf("data file %s is locked by another process (is another dnslb serve using it?)", path)
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("open data file %s: %w; create its directory %s first", path, err, filepath.Dir(path))
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("open data file %s: %w; the server needs to read and write it", path, err)
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrVersionMismatch), errors.Is(err, berrors.ErrChecksum):
		return damaged(path, "%v (or it is no dnslb data file at all)", err)
	case strings.HasPrefix(err.Error(), "file size too small"): // bbolt has no sentinel for it
		return damaged(path, "%v (truncated)", err)
	}
	return fmt.Errorf("open data file %s: %w", path, err)
}

// initFile creates the buckets if needed and returns the stored revision.
func initFile(db *bolt.DB) (rev int64, err error) {
	err = db.Update(func(btx *bolt.Tx) error {
		for _, name := range [][]byte{bucketMeta, bucketZones, bucketSets} {
			if _, err := btx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("create bucket %s: %w", name, err)
			}
		}
		rev, err = readRev(btx)
		return err
	})
	return rev, err
}

// readRev returns the revision stored in btx, 0 for a new file.
func readRev(btx *bolt.Tx) (int64, error) {
	v := btx.Bucket(bucketMeta).Get(keyRev)
	switch len(v) {
	case 0:
		return 0, nil
	case 8:
		return int64(binary.BigEndian.Uint64(v)), nil
	}
	return 0, fmt.Errorf("corrupt revision: %d bytes, want 8", len(v))
}

func writeRev(btx *bolt.Tx, rev int64) error {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(rev))
	return btx.Bucket(bucketMeta).Put(keyRev, b[:])
}

// Close waits for transactions in flight, ends every watch and closes the
// file. Later calls return store.ErrClosed.
func (s *Store) Close() error {
	s.life.Lock()
	if s.closed {
		s.life.Unlock()
		return store.ErrClosed
	}
	s.closed = true
	close(s.done)
	s.life.Unlock()
	s.watchers.Wait()
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close data file %s: %w", s.path, err)
	}
	return nil
}

// Update runs fn in a read-write transaction; see store.Store. The commit
// is fsynced before Update returns. fn must not call methods of s.
func (s *Store) Update(ctx context.Context, fn func(store.Tx) error) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.life.RLock()
	defer s.life.RUnlock()
	if s.closed {
		return 0, store.ErrClosed
	}
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	if err := ctx.Err(); err != nil { // it may have ended while queued
		return 0, err
	}
	t, err := s.commit(fn)
	if err != nil {
		return 0, err
	}
	if len(t.events) > 0 {
		t.events[len(t.events)-1].Last = true
		s.hist.append(t.rev, t.events)
		return t.rev, nil
	}
	return t.rev - 1, nil
}

// commit runs fn in a bbolt write transaction and commits it. An error of
// fn is returned as it is; the transaction then writes nothing.
func (s *Store) commit(fn func(store.Tx) error) (*writeTx, error) {
	var (
		t     *writeTx
		fnErr error
	)
	err := s.db.Update(func(btx *bolt.Tx) error {
		rev, err := readRev(btx)
		if err != nil {
			return err
		}
		t = &writeTx{readTx: readTx{btx: btx}, rev: rev + 1}
		if fnErr = fn(t); fnErr != nil {
			return fnErr
		}
		if len(t.events) == 0 {
			return nil
		}
		return writeRev(btx, t.rev)
	})
	switch {
	case fnErr != nil:
		return nil, fnErr
	case noSpace(err):
		return nil, s.fullError(err)
	case err != nil:
		return nil, fmt.Errorf("commit to data file %s: %w", s.path, err)
	}
	s.full.clear()
	return t, nil
}

// View runs fn in a read-only transaction; see store.Store. fn must not
// call methods of s.
func (s *Store) View(ctx context.Context, fn func(store.ReadTx) error) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.life.RLock()
	defer s.life.RUnlock()
	if s.closed {
		return 0, store.ErrClosed
	}
	var rev int64
	err := s.db.View(func(btx *bolt.Tx) error {
		var err error
		if rev, err = readRev(btx); err != nil {
			return fmt.Errorf("data file %s: %w", s.path, err)
		}
		return fn(readTx{btx: btx})
	})
	return rev, err
}
