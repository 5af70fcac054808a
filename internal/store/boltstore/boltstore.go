// Package boltstore is dnslb's embedded store: one bbolt file, fsynced on
// every commit, with an in-memory log of recent changes for watchers.
package boltstore

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/dnslb/dnslb/internal/store"
)

var (
	bucketMeta  = []byte("meta")
	bucketZones = []byte("zones")
	bucketSets  = []byte("sets")
	keyRev      = []byte("revision")
)

// Options configure Open. The zero value is usable.
type Options struct {
	Logger *slog.Logger
	// WatchHistory is how many revisions of events are kept for watchers
	// that fall behind (default 10000).
	WatchHistory int
	// LockTimeout is how long Open waits for another process's lock on the
	// file (default 1s).
	LockTimeout time.Duration
}

// Store is a store.Store on a bbolt file.
type Store struct {
	db   *bolt.DB
	log  *slog.Logger
	hist int

	wmu sync.Mutex // serializes Update, so events are logged in commit order

	mu      sync.Mutex // guards the fields below
	rev     int64
	events  []store.Event // events of the newest revisions, oldest first
	changed chan struct{} // closed and replaced when events are appended
	closed  bool
	done    chan struct{} // closed by Close
	wg      sync.WaitGroup
}

var _ store.Store = (*Store)(nil)

// Open opens (creating it if needed) the store file at path.
func Open(path string, opts Options) (*Store, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.WatchHistory <= 0 {
		opts.WatchHistory = 10000
	}
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = time.Second
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return nil, fmt.Errorf("store file %s is a directory", path)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: opts.LockTimeout})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("store file %s is locked by another process (is another dnslb serve using it?)", path)
	}
	if err != nil {
		return nil, fmt.Errorf("open store file %s: %w", path, err)
	}
	s := &Store{db: db, log: opts.Logger, hist: opts.WatchHistory, changed: make(chan struct{}), done: make(chan struct{})}
	if err := s.init(); err != nil {
		db.Close()
		return nil, fmt.Errorf("open store file %s: %w", path, err)
	}
	return s, nil
}

func (s *Store) init() error {
	return s.db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketMeta, bucketZones, bucketSets} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		if v := tx.Bucket(bucketMeta).Get(keyRev); len(v) == 8 {
			s.rev = int64(binary.BigEndian.Uint64(v))
		}
		return nil
	})
}

// Close closes the file and ends every watch. Later calls return
// store.ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return store.ErrClosed
	}
	s.closed = true
	close(s.done)
	s.mu.Unlock()
	s.wg.Wait()
	return s.db.Close()
}

func (s *Store) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Update runs fn in a read-write transaction; see store.Store.
func (s *Store) Update(ctx context.Context, fn func(store.Tx) error) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if s.isClosed() {
		return 0, store.ErrClosed
	}
	var (
		t   *tx
		rev int64
	)
	s.wmu.Lock()
	defer s.wmu.Unlock()
	err := s.db.Update(func(btx *bolt.Tx) error {
		rev = readRev(btx)
		t = &tx{btx: btx, rev: rev + 1}
		if err := fn(t); err != nil {
			return err
		}
		if len(t.events) == 0 {
			return nil
		}
		rev++
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], uint64(rev))
		return btx.Bucket(bucketMeta).Put(keyRev, b[:])
	})
	if err != nil {
		return 0, err
	}
	if len(t.events) > 0 {
		s.publish(rev, t.events)
	}
	return rev, nil
}

func readRev(btx *bolt.Tx) int64 {
	if v := btx.Bucket(bucketMeta).Get(keyRev); len(v) == 8 {
		return int64(binary.BigEndian.Uint64(v))
	}
	return 0
}

// publish appends a committed transaction's events to the log; wmu keeps
// the log in revision order.
func (s *Store) publish(rev int64, events []store.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rev = rev
	s.events = append(s.events, events...)
	if drop := s.firstKept(); drop > 0 {
		s.events = append([]store.Event(nil), s.events[drop:]...)
	}
	close(s.changed)
	s.changed = make(chan struct{})
}

// firstKept is the index of the oldest event within the history. Callers
// hold s.mu.
func (s *Store) firstKept() int {
	oldest := s.rev - int64(s.hist) + 1
	i := 0
	for i < len(s.events) && s.events[i].Rev < oldest {
		i++
	}
	return i
}

// View runs fn in a read-only transaction; see store.Store.
func (s *Store) View(ctx context.Context, fn func(store.ReadTx) error) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if s.isClosed() {
		return 0, store.ErrClosed
	}
	var rev int64
	err := s.db.View(func(btx *bolt.Tx) error {
		rev = readRev(btx)
		return fn(&tx{btx: btx})
	})
	return rev, err
}

func encode(v any) ([]byte, error) { return json.Marshal(v) }

func decode(data []byte, v any) error {
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("corrupt store entry: %w", err)
	}
	return nil
}
