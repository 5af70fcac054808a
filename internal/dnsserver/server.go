package dnsserver

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"strconv"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/dnslb/dnslb/internal/selector"
	"github.com/dnslb/dnslb/internal/zone"
)

// Snapshots gives the current snapshot; *atomic.Pointer[zone.Snapshot]
// and *registry.Registry satisfy it.
type Snapshots interface{ Load() *zone.Snapshot }

// Config configures a Server.
type Config struct {
	Addr       string // "127.0.0.1:5300"; UDP and TCP on the same address
	Snapshot   Snapshots
	Rand       selector.Rand // nil: selector.Fast
	MaxUDPSize uint16        // EDNS buffer size advertised and honoured; default 1232
	Now        func() time.Time
	Logger     *slog.Logger
	Registerer prometheus.Registerer // nil: no metrics
	Shutdown   time.Duration         // how long in-flight queries get at shutdown; default 5s
	// UDPSockets is how many SO_REUSEPORT sockets (each with its own loop)
	// serve UDP; default GOMAXPROCS.
	UDPSockets int
	// Datagram, when set, sees every UDP datagram first and takes those of
	// another protocol sharing the port (lease heartbeats, package
	// heartbeat): ours reports it took req, resp is its answer (nil for
	// none), packed into out. It runs on the UDP loops, so it must neither
	// block nor allocate; a datagram it does not take is answered as DNS.
	Datagram func(req, out []byte) (resp []byte, ours bool)
	// RRL is response rate limiting of UDP responses (rrl.go); nil:
	// DefaultRRL, on.
	RRL *RRL
	// TCPMaxQueries is how many queries one TCP connection may send before
	// the server closes it, gracefully (tcp.go); 0: no limit.
	TCPMaxQueries int
	// Identity tells which server answered (identity.go); zero: nothing.
	Identity Identity
}

// DefaultMaxUDPSize is the EDNS buffer size of DNS flag day 2020.
const DefaultMaxUDPSize = 1232

// Server answers DNS queries over UDP and TCP. New starts nothing; Listen
// binds; Run serves.
type Server struct {
	cfg     Config
	log     *slog.Logger
	rnd     selector.Rand
	metrics *metrics
	udp     []*net.UDPConn
	ln      net.Listener
	rrl     *limiter // nil: off
	nsidHex string   // Identity.NSID in hex, as miekg/dns carries it
}

// New returns a Server for cfg.
func New(cfg Config) (*Server, error) {
	if cfg.Snapshot == nil {
		return nil, errors.New("dnsserver: Config.Snapshot is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxUDPSize < dns.MinMsgSize {
		cfg.MaxUDPSize = DefaultMaxUDPSize
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Shutdown == 0 {
		cfg.Shutdown = 5 * time.Second
	}
	if cfg.UDPSockets <= 0 {
		cfg.UDPSockets = runtime.GOMAXPROCS(0)
	}
	if len(cfg.Identity.NSID) > MaxNSID {
		return nil, fmt.Errorf("dnsserver: Config.Identity.NSID is %d bytes; at most %d are allowed", len(cfg.Identity.NSID), MaxNSID)
	}
	s := &Server{cfg: cfg, log: cfg.Logger, rnd: cfg.Rand, metrics: newMetrics(cfg.Registerer),
		nsidHex: hex.EncodeToString(cfg.Identity.NSID)}
	if err := s.newRRL(); err != nil {
		return nil, err
	}
	if s.rnd == nil {
		s.rnd = selector.Fast{}
	}
	return s, nil
}

// Listen binds UDP and TCP on the configured address. With port 0, UDP
// picks a port and TCP takes the same one; when some other socket holds
// that TCP port (any process's client may have it as its source port),
// another port is tried.
func (s *Server) Listen() error {
	var lastErr error
	for range listenTries {
		conns, err := listenUDP(s.cfg.Addr, s.cfg.UDPSockets)
		if err != nil {
			return fmt.Errorf("dns: %w", err)
		}
		ln, err := net.Listen("tcp", conns[0].LocalAddr().String())
		if err == nil {
			s.udp, s.ln = conns, ln
			return nil
		}
		closeAll(conns)
		lastErr = fmt.Errorf("dns: %w", err)
		if _, port, _ := net.SplitHostPort(s.cfg.Addr); port != "0" {
			break
		}
	}
	return lastErr
}

// listenTries bounds the ports Listen tries with port 0. On a machine
// with a thousand connections open, one UDP port in thirty has its TCP
// twin taken.
const listenTries = 64

// Addr is the bound address (UDP and TCP) after Listen; before, the
// configured one.
func (s *Server) Addr() string {
	if len(s.udp) == 0 {
		return s.cfg.Addr
	}
	return s.udp[0].LocalAddr().String()
}

// Port is the bound port; valid after Listen.
func (s *Server) Port() int {
	_, p, _ := net.SplitHostPort(s.Addr())
	n, _ := strconv.Atoi(p)
	return n
}

// Run serves until ctx ends, then stops accepting and gives in-flight
// queries cfg.Shutdown to finish; TCP connections still open then are
// cut, and Run returns nil. A UDP loop or the TCP listener that fails
// ends Run with its error at once, so no share of the clients is left
// without answers.
func (s *Server) Run(ctx context.Context) error {
	if s.udp == nil {
		if err := s.Listen(); err != nil {
			return err
		}
	}
	defer closeAll(s.udp)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return s.serveUDP(gctx) })
	g.Go(func() error { return s.serveTCP(gctx) })
	return g.Wait()
}

// accept filters queries before they are parsed: responses are dropped,
// opcodes other than QUERY get NOTIMP (dnslb takes no NOTIFY or UPDATE),
// and a query must have exactly one question.
func accept(dh dns.Header) dns.MsgAcceptAction {
	const qr = 1 << 15
	if dh.Bits&qr != 0 {
		return dns.MsgIgnore
	}
	if opcode := int(dh.Bits>>11) & 0xF; opcode != dns.OpcodeQuery {
		return dns.MsgRejectNotImplemented
	}
	if dh.Qdcount != 1 || dh.Ancount > 0 || dh.Nscount > 0 || dh.Arcount > 2 {
		return dns.MsgReject
	}
	return dns.MsgAccept
}
