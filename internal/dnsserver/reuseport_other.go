//go:build !unix

package dnsserver

import "syscall"

// reusePortWorks is false where SO_REUSEPORT does not exist (Windows):
// the server runs one UDP socket.
const reusePortWorks = false

// reusePort does nothing here.
func reusePort(_, _ string, _ syscall.RawConn) error { return nil }
