package heartbeat

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
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

// Run answers heartbeats until ctx ends.
func (s *Server) Run(ctx context.Context) error {
	if s.conn == nil {
		if err := s.Listen(); err != nil {
			return err
		}
	}
	stop := context.AfterFunc(ctx, func() { s.conn.Close() })
	defer stop()
	var in [RequestSize + 1]byte // one more, to tell an oversized datagram
	out := make([]byte, 0, AnswerSize)
	for {
		n, from, err := s.conn.ReadFromUDPAddrPort(in[:])
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			s.log.Warn("heartbeat read", "err", err) // e.g. ICMP errors; the socket stays usable
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
