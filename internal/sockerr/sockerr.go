// Package sockerr tells socket errors that retrying can fix from those
// that end a server loop. Every UDP loop of dnslb (the DNS loops, the
// heartbeat socket) asks it, so they agree on which errors are fatal.
package sockerr

import (
	"errors"
	"syscall"
	"time"
)

// Transient reports whether a socket error is one that retrying can fix:
// an interrupted call, a full buffer or memory shortage, or an ICMP error
// about an earlier datagram reported on this one.
func Transient(err error) bool {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return false
	}
	switch errno {
	case syscall.EINTR, syscall.EAGAIN, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNREFUSED, syscall.ECONNRESET,
		syscall.EHOSTUNREACH, syscall.ENETUNREACH, syscall.EHOSTDOWN, syscall.ENETDOWN, syscall.ETIMEDOUT,
		syscall.EPERM, syscall.EACCES, syscall.EMSGSIZE, syscall.EPIPE:
		return true
	}
	return false
}

// RetryPause is how long a loop waits after a transient error before it
// reads again: long enough not to spin on an error that repeats, short
// enough not to be noticed.
const RetryPause = 10 * time.Millisecond
