// Package api serves dnslb's HTTP API v1 (JSON) and the server's health
// endpoints. Handlers validate input, call the registry, and answer errors
// as {"error": {"code", "field", "message"}} with a stable code.
package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/dnslb/dnslb/internal/api/client"
	"github.com/dnslb/dnslb/internal/registry"
)

// Defaults.
const (
	DefaultMaxBody    = 1 << 20 // bytes of a request body
	DefaultShutdown   = 5 * time.Second
	readHeaderTimeout = 10 * time.Second
)

// Config configures a Server.
type Config struct {
	Addr     string // listen address, "127.0.0.1:5380"
	Registry *registry.Registry
	Logger   *slog.Logger
	MaxBody  int64         // request body limit; DefaultMaxBody when 0
	Shutdown time.Duration // how long in-flight requests get at shutdown
	Extra    map[string]http.Handler
	// Heartbeat is where the server takes lease heartbeats (package
	// heartbeat), told to agents with each renewal; the zero value when it
	// takes none.
	Heartbeat netip.AddrPort
}

// Server is the HTTP API. New starts nothing; Listen binds; Run serves.
type Server struct {
	cfg      Config
	log      *slog.Logger
	mux      *http.ServeMux
	ln       net.Listener
	lameduck atomic.Bool
}

// New returns a Server for cfg.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxBody == 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.Shutdown == 0 {
		cfg.Shutdown = DefaultShutdown
	}
	s := &Server{cfg: cfg, log: cfg.Logger, mux: http.NewServeMux()}
	s.routes()
	return s
}

func (s *Server) routes() {
	m := s.mux
	m.HandleFunc("GET /v1/zones", s.listZones)
	m.HandleFunc("POST /v1/zones", s.createZone)
	m.HandleFunc("GET /v1/zones/{zone}", s.getZone)
	m.HandleFunc("DELETE /v1/zones/{zone}", s.deleteZone)
	m.HandleFunc("GET /v1/zones/{zone}/rrsets", s.listSets)
	m.HandleFunc("PUT /v1/zones/{zone}/rrsets", s.putSet)
	m.HandleFunc("DELETE /v1/zones/{zone}/rrsets/{name}/{type}", s.deleteSet)
	m.HandleFunc("POST /v1/zones/{zone}/changes", s.changes)
	m.HandleFunc("POST /v1/zones/{zone}/rrsets/{name}/{type}/renew", s.renew)
	m.HandleFunc("POST /v1/zones/{zone}/rrsets/{name}/{type}/drain", s.drain)
	m.HandleFunc("GET /v1/zones/{zone}/rrsets/{name}/{type}/drain", s.drainStatus)
	m.HandleFunc("POST /v1/zones/{zone}/rrsets/{name}/{type}/health", s.force)
	m.HandleFunc("GET /healthz", s.healthz)
	m.HandleFunc("GET /readyz", s.readyz)
	s.brakeRoutes(m)
	for pattern, h := range s.cfg.Extra {
		m.Handle(pattern, h)
	}
}

// ServeHTTP limits the body, recovers from panics and answers unknown
// routes with JSON errors.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			s.writeError(w, r, fmt.Errorf("panic: %v", v))
		}
	}()
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBody)
	if _, pattern := s.mux.Handler(r); pattern == "" {
		s.noRoute(w, r)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// noRoute tells a wrong method from a wrong path.
func (s *Server) noRoute(w http.ResponseWriter, r *http.Request) {
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := s.mux.Handler(probe); pattern != "" {
			writeJSON(w, http.StatusMethodNotAllowed, client.ErrorBody{Error: client.Error{
				Code: client.CodeBadMethod, Message: fmt.Sprintf("%s is not allowed on %s", r.Method, r.URL.Path)}})
			return
		}
	}
	writeJSON(w, http.StatusNotFound, client.ErrorBody{Error: client.Error{
		Code: client.CodeNotFound, Message: fmt.Sprintf("no API endpoint %s %s; see the README's API section", r.Method, r.URL.Path)}})
}

// Listen binds the API address.
func (s *Server) Listen() error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("api: %w", err)
	}
	s.ln = ln
	return nil
}

// Addr is the bound address; valid after Listen.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// SetLameduck makes /readyz fail while the server keeps serving, so load
// balancers and orchestrators stop sending new work before shutdown.
func (s *Server) SetLameduck() { s.lameduck.Store(true) }

// Run serves until ctx ends, then gives in-flight requests cfg.Shutdown to
// finish.
func (s *Server) Run(ctx context.Context) error {
	if s.ln == nil {
		if err := s.Listen(); err != nil {
			return err
		}
	}
	hs := &http.Server{Handler: s, ReadHeaderTimeout: readHeaderTimeout, ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(s.ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("api: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.Shutdown)
	defer cancel()
	err := hs.Shutdown(sctx)
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	status, code := "ready", http.StatusOK
	select {
	case <-s.cfg.Registry.Ready():
	default:
		status, code = "loading", http.StatusServiceUnavailable
	}
	if s.lameduck.Load() {
		status, code = "shutting down", http.StatusServiceUnavailable
	}
	body := map[string]any{"status": status}
	if b, on := s.cfg.Registry.BrakeOn(); on {
		body["brake"] = b // ready all the same: see brake.go
	}
	writeJSON(w, code, body)
}
