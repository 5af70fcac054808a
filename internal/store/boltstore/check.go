package boltstore

import (
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"time"

	bolt "go.etcd.io/bbolt"
)

// ErrDamaged marks a data file that is truncated or corrupted: it must be
// restored from a backup. Test with errors.Is; the error says what is
// wrong.
var ErrDamaged = errors.New("data file damaged")

// damaged returns an error that wraps ErrDamaged for the file at path.
func damaged(path, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrDamaged, path, fmt.Sprintf(format, args...))
}

// guard runs fn and turns a panic, or a memory fault (bbolt reads the file
// through mmap: a truncated file faults past its end, a corrupted page can
// point anywhere), into an error. bbolt runs fn's work on this goroutine
// except tx.Check, which recovers its own panics and only reads pages
// that walk has touched already.
func guard(path string, fn func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if v := recover(); v != nil {
			err = damaged(path, "%v", v)
		}
	}()
	return fn()
}

// checkSize compares the file's length with the length its meta page
// claims, so a truncated file is caught before anything reads past its
// end.
func checkSize(path string, db *bolt.DB) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("data file %s: %w", path, err)
	}
	return db.View(func(tx *bolt.Tx) error {
		if want := tx.Size(); fi.Size() < want {
			return damaged(path, "it is %d bytes long but its header says %d (truncated)", fi.Size(), want)
		}
		return nil
	})
}

// check reads every page of db that holds data (walk), then lets bbolt
// check the free list and the page tree (tx.Check).
func check(path string, db *bolt.DB) error {
	return db.View(func(tx *bolt.Tx) error {
		if _, err := walk(tx.Cursor(), tx.Bucket); err != nil {
			return damaged(path, "%v", err)
		}
		var first error
		for err := range tx.Check() { // drained: Check reads the file until it closes the channel
			if first == nil {
				first = damaged(path, "%v", err)
			}
		}
		return first
	})
}

// walk visits every key and value under c, descending into nested
// buckets (sub opens one), and reads the last byte of each value so that
// overflow pages are read too; it returns those bytes xored, so that the
// reads cannot be optimized away.
func walk(c *bolt.Cursor, sub func([]byte) *bolt.Bucket) (byte, error) {
	var sum byte
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if v != nil {
			if len(v) > 0 {
				sum ^= v[len(v)-1]
			}
			continue
		}
		b := sub(k)
		if b == nil {
			return 0, fmt.Errorf("key %q is neither a value nor a bucket", k)
		}
		s, err := walk(b.Cursor(), b.Bucket)
		if err != nil {
			return 0, err
		}
		sum ^= s
	}
	return sum, nil
}

// openBolt opens path with bbolt under guard; after a panic it closes the
// file bbolt had opened, which releases its lock.
func openBolt(path string, o *bolt.Options) (*bolt.DB, error) {
	var f *os.File
	o.OpenFile = func(name string, flag int, perm os.FileMode) (*os.File, error) {
		var err error
		f, err = os.OpenFile(name, flag, perm)
		return f, err
	}
	var db *bolt.DB
	err := guard(path, func() error {
		var err error
		db, err = bolt.Open(path, 0o600, o)
		return err
	})
	if errors.Is(err, ErrDamaged) && f != nil {
		// bbolt's mapping keeps the file's lock alive past Close
		unlockFile(f)
		f.Close()
	}
	return db, err
}

// checkFile reads all of an existing file through a read-only handle:
// its length against its header, then every page that holds data, then
// bbolt's own check of the page tree and the free list. Nothing is
// mapped for writing before this passed.
func checkFile(path string, timeout time.Duration) error {
	if fi, err := os.Stat(path); err != nil || fi.Size() == 0 {
		return nil // bbolt creates or initializes it
	}
	db, err := openBolt(path, &bolt.Options{ReadOnly: true, Timeout: timeout})
	if err != nil {
		return openError(path, err)
	}
	defer db.Close()
	if err := checkSize(path, db); err != nil {
		return err
	}
	return guard(path, func() error { return check(path, db) })
}

// openChecked checks path (checkFile) and opens it for writing.
func openChecked(path string, timeout time.Duration) (*bolt.DB, error) {
	if err := checkFile(path, timeout); err != nil {
		return nil, err
	}
	db, err := openBolt(path, &bolt.Options{Timeout: timeout})
	if err != nil {
		return nil, openError(path, err)
	}
	return db, nil
}
