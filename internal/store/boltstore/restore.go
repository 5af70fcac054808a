package boltstore

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// ErrInUse: a process (a running server) holds the data file.
var ErrInUse = errors.New("data file in use")

// Replace puts a copy of the data file src in place of the one at dst,
// offline: it fails with ErrInUse while a process holds dst (bbolt's lock),
// checks the copy with Verify, keeps the file it replaces as aside (named
// after dst and the time now; "" when there was none), and renames the
// copy over dst, so dst is at every moment either the old file or the new
// one.
func Replace(dst, src string, now time.Time) (info Info, aside string, err error) {
	unlock, err := lockIdle(dst)
	if err != nil {
		return Info{}, "", err
	}
	defer unlock()
	tmp, err := copyBeside(dst, src)
	if err != nil {
		return Info{}, "", err
	}
	defer os.Remove(tmp) // after the rename, a no-op
	if info, err = Verify(tmp); err != nil {
		return Info{}, "", fmt.Errorf("copy of %s: %w", src, err)
	}
	if _, err := os.Stat(dst); err == nil {
		aside = fmt.Sprintf("%s.before-restore-%s", dst, now.UTC().Format("20060102T150405Z"))
		if err := os.Link(dst, aside); err != nil {
			return Info{}, "", fmt.Errorf("keep the current data file aside: %w", err)
		}
	}
	if err := os.Rename(tmp, dst); err != nil {
		return Info{}, "", fmt.Errorf("replace the data file: %w", err)
	}
	return info, aside, syncDir(filepath.Dir(dst))
}

// lockIdle takes bbolt's lock on path without waiting, so that nothing
// opens the file while it is replaced; a missing file needs no lock.
func lockIdle(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDONLY, 0)
	if errors.Is(err, os.ErrNotExist) {
		return func() {}, nil
	}
	if err != nil {
		return nil, err
	}
	if err := tryLockFile(f); err != nil {
		f.Close()
		if errors.Is(err, errLocked) {
			return nil, fmt.Errorf("%w: %s is held by another process; stop the dnslb serve using it first", ErrInUse, path)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}

// copyBeside copies src to a new temporary file in dst's directory,
// fsynced, and returns its path.
func copyBeside(dst, src string) (string, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	out, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".restore-*")
	if err != nil {
		return "", err
	}
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(out.Name())
		return "", fmt.Errorf("copy %s to %s: %w", src, filepath.Dir(dst), err)
	}
	return out.Name(), nil
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
