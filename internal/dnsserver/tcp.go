package dnsserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"

	"github.com/miekg/dns"
)

// serveTCP serves DNS over TCP on s.ln until ctx ends, then gives the
// connections in flight cfg.Shutdown to finish and cuts those left.
func (s *Server) serveTCP(ctx context.Context) error {
	ln := &tracker{Listener: s.ln, conns: map[*trackedConn]struct{}{}}
	started := make(chan struct{})
	tcp := &dns.Server{Listener: ln, Handler: s, MsgAcceptFunc: accept, NotifyStartedFunc: func() { close(started) }}
	errc := make(chan error, 1)
	go func() { errc <- tcp.ActivateAndServe() }()
	select { // ShutdownContext stops only a server that has started
	case <-started:
	case err := <-errc:
		return fmt.Errorf("dns: tcp: %w", err)
	}
	select {
	case err := <-errc:
		return fmt.Errorf("dns: tcp: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.Shutdown)
	defer cancel()
	if err := tcp.ShutdownContext(sctx); errors.Is(err, context.DeadlineExceeded) {
		s.log.Warn("dns shutdown: deadline passed; cutting the TCP connections left", "connections", ln.cut(), "shutdown", s.cfg.Shutdown.String())
	}
	<-errc
	return nil
}

// tracker is a listener that keeps the connections it accepted until
// they close, so that shutdown can cut the ones left.
type tracker struct {
	net.Listener
	mu    sync.Mutex
	conns map[*trackedConn]struct{}
}

// Accept accepts and tracks a connection.
func (l *tracker) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: c, l: l}
	l.mu.Lock()
	l.conns[tc] = struct{}{}
	l.mu.Unlock()
	return tc, nil
}

// cut closes every connection still open and returns how many there were.
func (l *tracker) cut() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(l.conns)
	for c := range l.conns {
		c.Conn.Close()
	}
	clear(l.conns)
	return n
}

// trackedConn leaves its tracker when it closes.
type trackedConn struct {
	net.Conn
	l *tracker
}

// Close closes the connection and forgets it.
func (c *trackedConn) Close() error {
	c.l.mu.Lock()
	delete(c.l.conns, c)
	c.l.mu.Unlock()
	return c.Conn.Close()
}
