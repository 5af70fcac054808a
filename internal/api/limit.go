package api

import (
	"crypto/tls"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Connection limits. Without them, slow or idle connections pile up until
// the process runs out of file descriptors, and then neither the API nor
// DNS over TCP can accept anything. A connection over the per-source
// limit is accepted and closed at once, so it holds a descriptor for no
// time and the kernel backlog never fills with connections the server
// will not serve. At the overall limit, a new connection takes the place
// of the one that has waited longest without a request under way (idle,
// or not yet sent one), else of the oldest request that has gone on for
// more than evictAge (a slow body): many slow clients, from many sources,
// cannot keep a new one out.

// Defaults of Config.MaxConns and Config.MaxConnsPerIP.
const (
	DefaultMaxConns      = 1024
	DefaultMaxConnsPerIP = 64
)

// evictAge is how long a request must have gone on before a new
// connection may take its place.
const evictAge = time.Second

// limitListener caps the connections open at once, in all and per source
// address.
type limitListener struct {
	net.Listener
	max, perIP int

	mu    sync.Mutex
	conns map[*limitConn]struct{}
	byIP  map[netip.Addr]int
}

func newLimitListener(ln net.Listener, limit, perIP int) *limitListener {
	return &limitListener{Listener: ln, max: fdCap(limit), perIP: perIP,
		conns: map[*limitConn]struct{}{}, byIP: map[netip.Addr]int{}}
}

// Accept returns the next connection within the limits, closing those
// over them.
func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		lc := &limitConn{Conn: c, l: l, ip: remoteIP(c)}
		lc.setState(http.StateNew)
		ok, victim := l.take(lc)
		if victim != nil {
			victim.Conn.Close()
		}
		if ok {
			return lc, nil
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

// take gives lc a place, if the limits allow, and returns the connection
// it took the place of, to close.
func (l *limitListener) take(lc *limitConn) (ok bool, victim *limitConn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.byIP[lc.ip] >= l.perIP {
		return false, nil
	}
	if len(l.conns) >= l.max {
		if victim = l.victim(time.Now()); victim == nil {
			return false, nil
		}
		l.remove(victim)
	}
	l.conns[lc] = struct{}{}
	l.byIP[lc.ip]++
	return true, victim
}

// victim is the connection a new one may replace: the one waiting
// longest without a request, else the oldest request older than
// evictAge; nil if none. Callers hold l.mu.
func (l *limitListener) victim(now time.Time) *limitConn {
	var waiting, slow *limitConn
	for c := range l.conns {
		switch st, since := c.stateSince(); {
		case st == http.StateNew || st == http.StateIdle:
			if waiting == nil || since.Before(waiting.since()) {
				waiting = c
			}
		case st == http.StateActive && now.Sub(since) > evictAge:
			if slow == nil || since.Before(slow.since()) {
				slow = c
			}
		}
	}
	if waiting != nil {
		return waiting
	}
	return slow
}

// remove gives c's place back, once. Callers hold l.mu.
func (l *limitListener) remove(c *limitConn) {
	if _, ok := l.conns[c]; !ok {
		return
	}
	delete(l.conns, c)
	if l.byIP[c.ip]--; l.byIP[c.ip] <= 0 {
		delete(l.byIP, c.ip)
	}
}

// connState is http.Server.ConnState: it follows each connection's state
// for victim.
func (l *limitListener) connState(c net.Conn, st http.ConnState) {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	if lc, ok := c.(*limitConn); ok {
		lc.setState(st)
	}
}

// limitConn gives its place back when closed.
type limitConn struct {
	net.Conn
	l     *limitListener
	ip    netip.Addr
	state atomic.Int64 // http.ConnState
	at    atomic.Int64 // when it entered the state, unix ns
}

func (c *limitConn) setState(st http.ConnState) {
	c.at.Store(time.Now().UnixNano())
	c.state.Store(int64(st))
}

func (c *limitConn) stateSince() (http.ConnState, time.Time) {
	return http.ConnState(c.state.Load()), time.Unix(0, c.at.Load())
}

func (c *limitConn) since() time.Time { return time.Unix(0, c.at.Load()) }

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.l.mu.Lock()
	c.l.remove(c)
	c.l.mu.Unlock()
	return err
}
