//go:build unix

package dnsserver

import (
	"errors"
	"syscall"

	"golang.org/x/sys/unix"
)

// reusePortWorks: several UDP sockets can share one address, and the
// kernel spreads clients over them.
const reusePortWorks = true

// reusePort sets SO_REUSEPORT on a socket before it binds.
func reusePort(_, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
	})
	return errors.Join(err, serr)
}
