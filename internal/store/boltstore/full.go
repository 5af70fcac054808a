package boltstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/dnslb/dnslb/internal/store"
)

// probeEvery is how often Writable tries a write while the disk is full.
const probeEvery = time.Second

// probeSize is the size of the value a probe writes: a few pages, about
// what a write of a few record sets needs.
const probeSize = 16 << 10

var keyProbe = []byte("probe")

// fullState remembers a write that failed for lack of space, until a
// write works again.
type fullState struct {
	mu     sync.Mutex
	err    error     // the ErrFull error of the last failed write; nil when writes work
	probed time.Time // last probe while err is set
}

func (f *fullState) set(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

func (f *fullState) clear() { f.set(nil) }

// due returns the error and whether a probe is due now.
func (f *fullState) due(now time.Time) (error, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err == nil || now.Sub(f.probed) < probeEvery {
		return f.err, false
	}
	f.probed = now
	return f.err, true
}

// noSpace reports whether err is the file system saying it has no room.
func noSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

// fullError records a write that failed for lack of space and returns the
// error that says so, with the cause and the fix.
func (s *Store) fullError(err error) error {
	cause := err
	var errno syscall.Errno
	if errors.As(err, &errno) {
		cause = errno
	}
	err = fmt.Errorf("%w: cannot write data file %s: %v; free space on its file system: writes resume by themselves, DNS answers meanwhile",
		store.ErrFull, s.path, cause)
	s.full.set(err)
	return err
}

// Writable returns nil while writes work as far as the store knows, and
// the error of the last write that failed for lack of space otherwise.
// While that lasts it tries a small write at most once a second, so it
// recovers once space is freed even if no client writes.
func (s *Store) Writable(ctx context.Context) error {
	err, due := s.full.due(time.Now())
	if !due || ctx.Err() != nil {
		return err
	}
	return s.probe()
}

// probe writes and deletes a small value, to learn whether writes work
// again.
func (s *Store) probe() error {
	s.life.RLock()
	defer s.life.RUnlock()
	if s.closed {
		return store.ErrClosed
	}
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	err := s.db.Update(func(btx *bolt.Tx) error { return btx.Bucket(bucketMeta).Put(keyProbe, make([]byte, probeSize)) })
	if err == nil {
		err = s.db.Update(func(btx *bolt.Tx) error { return btx.Bucket(bucketMeta).Delete(keyProbe) })
	}
	switch {
	case noSpace(err):
		return s.fullError(err)
	case err != nil:
		return fmt.Errorf("data file %s: write probe: %w", s.path, err)
	}
	s.log.Info("data file writable again", "path", s.path)
	s.full.clear()
	return nil
}
