package heartbeat

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// RenewFunc renews the lease named by tok, recording the agent's health
// when healthy is not nil. ok is false when tok names no leased set here.
// It must not block: the server answers one datagram at a time.
type RenewFunc func(tok Token, healthy *bool) (lease time.Duration, draining, ok bool)

// Config configures a Server.
type Config struct {
	Addr       string // UDP listen address, "127.0.0.1:5380"
	Renew      RenewFunc
	Logger     *slog.Logger
	Registerer prometheus.Registerer // nil: no metrics
}

// Server answers heartbeats on one UDP socket. New starts nothing; Listen
// binds; Run serves.
type Server struct {
	cfg  Config
	log  *slog.Logger
	conn *net.UDPConn
	// counters by result, resolved once so that a heartbeat costs no
	// label lookup
	ok, unknown, badVersion, malformed, failed prometheus.Counter
}

// New returns a Server for cfg.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	beats := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "dnslb_heartbeats_total",
		Help: "Lease heartbeats received over UDP, by result: ok, unknown_token, bad_version, malformed (not answered), error.",
	}, []string{"result"})
	if cfg.Registerer != nil {
		cfg.Registerer.MustRegister(beats)
	}
	return &Server{cfg: cfg, log: cfg.Logger,
		ok: beats.WithLabelValues("ok"), unknown: beats.WithLabelValues("unknown_token"),
		badVersion: beats.WithLabelValues("bad_version"), malformed: beats.WithLabelValues("malformed"),
		failed: beats.WithLabelValues("error")}
}

// Listen binds the UDP address.
func (s *Server) Listen() error {
	addr, err := net.ResolveUDPAddr("udp", s.cfg.Addr)
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
	var healthy bool
	for {
		n, from, err := s.conn.ReadFromUDPAddrPort(in[:])
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			s.log.Warn("heartbeat read", "err", err) // e.g. ICMP errors; the socket stays usable
			continue
		}
		a, answer := s.handle(in[:n], &healthy)
		if !answer {
			continue
		}
		if _, err := s.conn.WriteToUDPAddrPort(a.Append(out[:0]), from); err != nil {
			s.log.Debug("heartbeat answer", "to", from.String(), "err", err)
		}
	}
}

// handle answers one datagram; answer is false for one not worth an
// answer.
func (s *Server) handle(b []byte, healthy *bool) (a Answer, answer bool) {
	q, err := ParseRequest(b, healthy)
	a.Nonce = q.Nonce
	switch {
	case errors.Is(err, ErrVersion):
		s.badVersion.Inc()
		a.Status = StatusBadVersion
		return a, true
	case err != nil:
		s.malformed.Inc()
		return a, false
	}
	defer func() {
		if v := recover(); v != nil {
			s.failed.Inc()
			s.log.Error("heartbeat renewal panicked", "panic", v)
			a.Status, answer = StatusServerError, true
		}
	}()
	lease, draining, ok := s.cfg.Renew(q.Token, q.Healthy)
	if !ok {
		s.unknown.Inc()
		a.Status = StatusUnknown
		return a, true
	}
	s.ok.Inc()
	a.Lease, a.Draining = lease, draining
	return a, true
}
