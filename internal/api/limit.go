package api

import (
	"net"
	"net/netip"
	"sync"
	"syscall"
)

// Connection limits. Without them, slow or idle connections pile up until
// the process runs out of file descriptors, and then neither the API nor
// DNS over TCP can accept anything. A connection over a limit is accepted
// and closed at once, so it holds a descriptor for no time, and the kernel
// backlog never fills with connections the server will not serve.

// Defaults of Config.MaxConns and Config.MaxConnsPerIP.
const (
	DefaultMaxConns      = 1024
	DefaultMaxConnsPerIP = 64
)

// limitListener caps the connections open at once, in all and per source
// address.
type limitListener struct {
	net.Listener
	max, perIP int

	mu    sync.Mutex
	total int
	byIP  map[netip.Addr]int
}

// fdCap bounds max by the process's open-file limit: the API may use half
// of the descriptors, the rest stay for DNS, the store and the logs.
func fdCap(limit int) int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err == nil && rl.Cur > 0 && uint64(limit) > rl.Cur/2 {
		return max(int(rl.Cur/2), 1)
	}
	return limit
}

func newLimitListener(ln net.Listener, limit, perIP int) *limitListener {
	return &limitListener{Listener: ln, max: fdCap(limit), perIP: perIP, byIP: map[netip.Addr]int{}}
}

// Accept returns the next connection within the limits, closing those
// over them.
func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := remoteIP(c)
		if l.take(ip) {
			return &limitConn{Conn: c, release: func() { l.give(ip) }}, nil
		}
		c.Close()
	}
}

func remoteIP(c net.Conn) netip.Addr {
	ap, err := netip.ParseAddrPort(c.RemoteAddr().String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

func (l *limitListener) take(ip netip.Addr) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.total >= l.max || l.byIP[ip] >= l.perIP {
		return false
	}
	l.total++
	l.byIP[ip]++
	return true
}

func (l *limitListener) give(ip netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total--
	if l.byIP[ip]--; l.byIP[ip] <= 0 {
		delete(l.byIP, ip)
	}
}

// limitConn gives its place back once, when closed.
type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
