package dnsserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// DNS over TCP is served by miekg/dns's server. Three things are changed:
//
//   - No limit on the queries of one connection by default (miekg/dns
//     closes after 128); Knot, NSD and BIND have none either, only idle
//     timeouts, which stay (miekg/dns's: 2 s for the first query, 8 s
//     between queries). Config.TCPMaxQueries sets one.
//   - Closing a connection is graceful (RFC 7766 §6.2.1.1): miekg/dns
//     closes with queries a pipelining client already sent still unread,
//     and a close with unread data is a reset, which makes the client's
//     kernel throw away answers it had received but not yet read. Here the
//     server sends FIN after its last answer, then reads and discards what
//     still comes until the client closes too (or tcpLinger passes): the
//     client reads every answer sent, then end of stream, and asks again
//     for the rest.
//   - Shutdown gives the connections in flight cfg.Shutdown, then cuts
//     those left (tracker).

// tcpLinger bounds the wait for the client's close after ours.
const tcpLinger = time.Second

// serveTCP serves DNS over TCP on s.ln until ctx ends, then gives the
// connections in flight cfg.Shutdown to finish and cuts those left.
func (s *Server) serveTCP(ctx context.Context) error {
	ln := &tracker{Listener: gracefulListener{s.ln}, conns: map[*trackedConn]struct{}{}}
	started := make(chan struct{})
	tcp := &dns.Server{Listener: ln, Handler: s, MsgAcceptFunc: accept, NotifyStartedFunc: func() { close(started) }}
	s.configureTCP(tcp)
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

// configureTCP sets the per-connection query limit.
func (s *Server) configureTCP(srv *dns.Server) {
	srv.MaxTCPQueries = -1 // miekg/dns: no limit
	if s.cfg.TCPMaxQueries > 0 {
		srv.MaxTCPQueries = s.cfg.TCPMaxQueries
	}
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

// cut closes every connection still open, at once (no graceful linger:
// the shutdown deadline has passed), and returns how many there were.
func (l *tracker) cut() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(l.conns)
	for c := range l.conns {
		if g, ok := c.Conn.(*gracefulConn); ok {
			g.TCPConn.Close()
		} else {
			c.Conn.Close()
		}
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

// gracefulListener hands out connections whose Close is graceful.
type gracefulListener struct{ net.Listener }

func (l gracefulListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if tc, ok := c.(*net.TCPConn); ok {
		return &gracefulConn{tc}, nil
	}
	return c, nil
}

// gracefulConn is a TCP connection that closes as described above.
type gracefulConn struct{ *net.TCPConn }

// Close sends FIN, discards what the client still sends until it closes
// or tcpLinger passes, then closes.
func (c *gracefulConn) Close() error {
	if c.CloseWrite() == nil && c.SetReadDeadline(time.Now().Add(tcpLinger)) == nil {
		_, _ = io.Copy(io.Discard, c.TCPConn)
	}
	return c.TCPConn.Close()
}
