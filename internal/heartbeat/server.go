package heartbeat

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"github.com/dnslb/dnslb/internal/sockerr"
)

// Server answers heartbeats on a UDP socket of its own, for operators who
// keep them off the DNS port (serve --heartbeat HOST:PORT). New starts
// nothing; Listen binds; Run serves.
type Server struct {
	addr string
	h    *Handler
	log  *slog.Logger
	conn *net.UDPConn
}

// NewServer returns a Server on addr ("127.0.0.1:5381") answering with h.
func NewServer(addr string, h *Handler) *Server { return &Server{addr: addr, h: h, log: h.log} }

// Listen binds the UDP address.
func (s *Server) Listen() error {
	addr, err := net.ResolveUDPAddr("udp", s.addr)
	if err != nil {
		return fmt.Errorf("heartbeat: %w", err)
	}
	conn, err := net.ListenUDP("udp", addr)
	if err != nil {
		return fmt.Errorf("heartbeat: %w", err)
	}
	s.conn = conn
	return nil
}

// Addr is the bound address; valid after Listen.
func (s *Server) Addr() netip.AddrPort { return s.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

// readFailed decides what a read error means: nil to read again (after a
// pause, for a transient error such as an ICMP error about an earlier
// answer), errStopped when ctx ended, or the error that ends
// Run: a socket that fails for good must end the server, not leave the
// agents that beat to it without answers.
func (s *Server) readFailed(ctx context.Context, err error) error {
	switch {
	case ctx.Err() != nil:
		return errStopped
	case errors.Is(err, net.ErrClosed):
		return fmt.Errorf("heartbeat %s: socket closed under the server", s.addr)
	case sockerr.Transient(err):
		s.log.Debug("heartbeat read; retrying", "err", err)
		time.Sleep(sockerr.RetryPause)
		return nil
	}
	return fmt.Errorf("heartbeat %s: %w", s.addr, err)
}

// errStopped ends Run without an error: its context ended.
var errStopped = errors.New("stopped")

// Run answers heartbeats until ctx ends. A socket that fails for good
// ends it with the error.
func (s *Server) Run(ctx context.Context) error {
	if s.conn == nil {
		if err := s.Listen(); err != nil {
			return err
		}
	}
	stop := context.AfterFunc(ctx, func() { s.conn.Close() })
	defer stop()
	err := s.serve(ctx)
	if errors.Is(err, errStopped) {
		return nil
	}
	return err
}

func (s *Server) serve(ctx context.Context) error {
	var in [RequestSize + 1]byte // one more, to tell an oversized datagram
	out := make([]byte, 0, AnswerSize)
	for {
		n, from, err := s.conn.ReadFromUDPAddrPort(in[:])
		if err != nil {
			if err := s.readFailed(ctx, err); err != nil {
				return err
			}
			continue
		}
		resp, ours := s.h.Answer(in[:n], out)
		if !ours {
			s.h.malformed.Inc() // not even the magic
			continue
		}
		if resp == nil {
			continue
		}
		if _, err := s.conn.WriteToUDPAddrPort(resp, from); err != nil {
			s.log.Debug("heartbeat answer", "to", from.String(), "err", err)
		}
	}
}
