package dnsserver

import (
	"io"
	"net"
	"time"

	"github.com/miekg/dns"
)

// DNS over TCP is served by miekg/dns's server. Two things are changed:
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

// tcpLinger bounds the wait for the client's close after ours.
const tcpLinger = time.Second

// configureTCP sets the per-connection query limit and the graceful close.
func (s *Server) configureTCP(srv *dns.Server) {
	srv.MaxTCPQueries = -1 // miekg/dns: no limit
	if s.cfg.TCPMaxQueries > 0 {
		srv.MaxTCPQueries = s.cfg.TCPMaxQueries
	}
	srv.Listener = gracefulListener{srv.Listener}
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

// gracefulConn is a TCP connection that closes as tcp.go describes.
type gracefulConn struct{ *net.TCPConn }

// Close sends FIN, discards what the client still sends until it closes
// or tcpLinger passes, then closes.
func (c *gracefulConn) Close() error {
	if c.CloseWrite() == nil && c.SetReadDeadline(time.Now().Add(tcpLinger)) == nil {
		_, _ = io.Copy(io.Discard, c.TCPConn)
	}
	return c.TCPConn.Close()
}
