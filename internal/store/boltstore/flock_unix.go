//go:build unix

package boltstore

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// errLocked: another process holds the file's lock.
var errLocked = errors.New("locked")

// tryLockFile takes f's exclusive lock, as bbolt does on open, without
// waiting: errLocked when another process holds it.
func tryLockFile(f *os.File) error {
	err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	if errors.Is(err, unix.EWOULDBLOCK) {
		return errLocked
	}
	return err
}

// unlockFile releases f's lock.
func unlockFile(f *os.File) { _ = unix.Flock(int(f.Fd()), unix.LOCK_UN) }
