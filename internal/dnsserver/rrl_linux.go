package dnsserver

import (
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"
)

// source is the address datagram i of b came from, without allocating
// (IPv4 unmapped), for response rate limiting.
func (b *mmsgBatch) source(i int) netip.Addr {
	rsa := &b.names[i]
	switch rsa.Family {
	case unix.AF_INET:
		return netip.AddrFrom4((*unix.RawSockaddrInet4)(unsafe.Pointer(rsa)).Addr)
	case unix.AF_INET6:
		return netip.AddrFrom16(rsa.Addr).Unmap()
	}
	return netip.Addr{}
}
