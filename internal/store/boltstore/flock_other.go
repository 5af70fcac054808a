//go:build !unix

package boltstore

import (
	"errors"
	"os"
)

// errLocked: another process holds the file's lock.
var errLocked = errors.New("locked")

// tryLockFile does not check the lock where flock does not exist
// (Windows): there a file open in a running server cannot be replaced
// anyway, and restore's rename fails.
func tryLockFile(*os.File) error { return nil }

// unlockFile does nothing here.
func unlockFile(*os.File) {}
