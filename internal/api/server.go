// Package api serves dnslb's HTTP API v1 (JSON) and the server's health
// endpoints. Handlers validate input, call the registry, and answer errors
// as {"error": {"code", "field", "message"}} with a stable code.
package api

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/dnslb/dnslb/internal/api/client"
	"github.com/dnslb/dnslb/internal/auth"
	"github.com/dnslb/dnslb/internal/registry"
	"github.com/dnslb/dnslb/internal/store"
)

// Defaults.
const (
	DefaultMaxBody  = 1 << 20 // bytes of a request body
	DefaultShutdown = 5 * time.Second
	// A request's header must arrive within ReadHeader, all of it within
	// Read; an answer must be written within Write (a 30 s CPU profile
	// fits); a kept-alive connection closes after Idle without a request.
	DefaultReadHeaderTimeout = 5 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultWriteTimeout      = 60 * time.Second
	DefaultIdleTimeout       = 60 * time.Second
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
	// Listener, when set, is served instead of a listener bound to Addr.
	Listener net.Listener
	// Backup serves GET /v1/backup; nil answers 501.
	Backup Backuper
	// Storage, when set, makes /readyz fail while writes cannot be stored.
	Storage Storage
	// Sync, in a cluster, tells on how many live servers a write is
	// applied, in its answer (cluster.go).
	Sync Syncer

	// Tokens, when not nil, are the bearer tokens the API requires (see
	// auth.go); nil means an open API, which serve allows on loopback only.
	Tokens *auth.Keeper
	// Hosts are Host names accepted besides localhost, 127.0.0.1, [::1]
	// and the API's own address (see guard.go).
	Hosts []string
	// TLS, when not nil, serves the API over TLS; Certs is reloaded with it.
	TLS   *tls.Config
	Certs *Certs
	// Connection limits (limit.go) and timeouts; the defaults when 0.
	MaxConns, MaxConnsPerIP                                   int
	ReadHeaderTimeout, ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// Route53, when set, serves the Route 53-compatible API under
	// /2013-04-01/ and STS at POST / (route53.go); nil: not served.
	Route53 http.Handler
}

// Storage tells whether the store can take writes; *boltstore.Store is
// one.
type Storage interface {
	// Writable returns nil when writes work, and why not otherwise.
	Writable(ctx context.Context) error
}

func (cfg *Config) defaults() {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxBody == 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.Shutdown == 0 {
		cfg.Shutdown = DefaultShutdown
	}
	for _, d := range []struct {
		v   *time.Duration
		def time.Duration
	}{{&cfg.ReadHeaderTimeout, DefaultReadHeaderTimeout}, {&cfg.ReadTimeout, DefaultReadTimeout},
		{&cfg.WriteTimeout, DefaultWriteTimeout}, {&cfg.IdleTimeout, DefaultIdleTimeout}} {
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	if cfg.MaxConns == 0 {
		cfg.MaxConns = DefaultMaxConns
	}
	if cfg.MaxConnsPerIP == 0 {
		cfg.MaxConnsPerIP = DefaultMaxConnsPerIP
	}
}

// Server is the HTTP API. New starts nothing; Listen binds; Run serves.
type Server struct {
	cfg      Config
	log      *slog.Logger
	mux      *http.ServeMux
	ln       net.Listener
	lameduck atomic.Bool
	hosts    map[string]bool // Host allow-list
	inflight atomic.Int64    // requests being served, counted at shutdown
}

// New returns a Server for cfg.
func New(cfg Config) *Server {
	cfg.defaults()
	s := &Server{cfg: cfg, log: cfg.Logger, mux: http.NewServeMux(), hosts: hostSet(cfg.Addr, cfg.Hosts)}
	s.routes()
	return s
}

func (s *Server) routes() {
	routes := map[string]http.HandlerFunc{
		"GET /v1/zones":                                     s.listZones,
		"POST /v1/zones":                                    s.createZone,
		"GET /v1/zones/{zone}":                              s.getZone,
		"DELETE /v1/zones/{zone}":                           s.deleteZone,
		"GET /v1/zones/{zone}/rrsets":                       s.listSets,
		"PUT /v1/zones/{zone}/rrsets":                       s.putSet,
		"DELETE /v1/zones/{zone}/rrsets/{name}/{type}":      s.deleteSet,
		"POST /v1/zones/{zone}/changes":                     s.changes,
		"POST /v1/zones/{zone}/rrsets/{name}/{type}/renew":  s.renew,
		"POST /v1/zones/{zone}/rrsets/{name}/{type}/drain":  s.drain,
		"GET /v1/zones/{zone}/rrsets/{name}/{type}/drain":   s.drainStatus,
		"POST /v1/zones/{zone}/rrsets/{name}/{type}/health": s.force,
		"GET /v1/backup":                                    s.backup,
		"GET /healthz":                                      s.healthz,
		"GET /readyz":                                       s.readyz,
	}
	s.brakeRoutes(routes)
	s.uiRoutes(routes)
	for pattern, h := range routes {
		s.mux.Handle(pattern, s.authorized(pattern, h))
	}
	for pattern, h := range s.cfg.Extra {
		s.mux.Handle(pattern, s.authorized(pattern, h))
	}
}

// ServeHTTP limits the body, recovers from panics, refuses browser
// requests from elsewhere (guard.go), authenticates and authorizes
// (auth.go), and answers unknown routes with JSON errors.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.inflight.Add(1)
	defer s.inflight.Add(-1)
	defer func() {
		if v := recover(); v != nil {
			s.writeError(w, r, fmt.Errorf("panic: %v", v))
		}
	}()
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBody)
	if s.serveRoute53(w, r) {
		return
	}
	if err := s.checkRequest(r); err != nil {
		s.writeError(w, r, err)
		return
	}
	_, pattern := s.mux.Handler(r)
	if pattern == "" {
		s.noRoute(w, r)
		return
	}
	r, _ = withInfo(r)
	if !audited(r) {
		s.mux.ServeHTTP(w, r)
		return
	}
	aw := &auditWriter{ResponseWriter: w}
	s.mux.ServeHTTP(aw, r)
	s.audit(aw, r)
}

// authorized wraps the handler of a route: it runs h only if the
// request's token allows it (auth.go), and records the token for the
// audit line. It runs after routing, so it sees the path's values.
func (s *Server) authorized(pattern string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := accessOf(r, pattern)
		tok, err := s.authenticate(r, a)
		if err == nil {
			if info, ok := r.Context().Value(infoKey{}).(*reqInfo); ok {
				info.token = tok
				if tok != nil {
					info.actor.Name = tok.Name
				}
			}
			err = s.authorize(r, a, tok)
		}
		if err != nil {
			if re, ok := err.(*requestError); ok && re.status == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", `Bearer realm="dnslb"`)
			}
			s.writeError(w, r, err)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// Reload reads the tokens file, the TLS certificate and the Route 53
// credentials file again (SIGHUP);
// what fails to load leaves what is in use.
func (s *Server) Reload() error {
	var errs []error
	if s.cfg.Tokens != nil {
		errs = append(errs, s.cfg.Tokens.Reload())
	}
	if s.cfg.Certs != nil {
		errs = append(errs, s.cfg.Certs.Reload())
	}
	if r, ok := s.cfg.Route53.(interface{ Reload() error }); ok {
		errs = append(errs, r.Reload())
	}
	return errors.Join(errs...)
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

// Listen binds the API address, or takes Config.Listener.
func (s *Server) Listen() error {
	if s.cfg.Listener != nil {
		s.ln = s.cfg.Listener
		return nil
	}
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("api: %w", err)
	}
	s.ln = newLimitListener(ln, s.cfg.MaxConns, s.cfg.MaxConnsPerIP)
	return nil
}

// httpServer is the http.Server that Run serves with: timeouts and a
// bound on header size.
func (s *Server) httpServer() *http.Server {
	return &http.Server{Handler: s, ReadHeaderTimeout: s.cfg.ReadHeaderTimeout, ReadTimeout: s.cfg.ReadTimeout,
		WriteTimeout: s.cfg.WriteTimeout, IdleTimeout: s.cfg.IdleTimeout, MaxHeaderBytes: 64 << 10,
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
}

// Addr is the bound address; valid after Listen.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// SetLameduck makes /readyz fail while the server keeps serving, so load
// balancers and orchestrators stop sending new work before shutdown.
func (s *Server) SetLameduck() { s.lameduck.Store(true) }

// Run serves until ctx ends, then gives in-flight requests cfg.Shutdown to
// finish; those still running then are cut (and counted in the log), and
// Run returns nil. It returns the error of a listener that fails.
func (s *Server) Run(ctx context.Context) error {
	if s.ln == nil {
		if err := s.Listen(); err != nil {
			return err
		}
	}
	hs := s.httpServer()
	if ll, ok := s.ln.(*limitListener); ok {
		hs.ConnState = ll.connState
	}
	ln := s.ln
	if s.cfg.TLS != nil {
		ln = tls.NewListener(ln, s.cfg.TLS)
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("api: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.Shutdown)
	defer cancel()
	err := hs.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		s.log.Warn("api shutdown: deadline passed; cutting the requests left", "requests", s.inflight.Load(), "shutdown", s.cfg.Shutdown.String())
		err = hs.Close()
	}
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("api shutdown: %w", err)
	}
	return nil
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	body, code := map[string]any{"status": "ready"}, http.StatusOK
	select {
	case <-s.cfg.Registry.Ready():
	default:
		body["status"], code = "loading", http.StatusServiceUnavailable
	}
	if s.cfg.Storage != nil {
		if err := s.cfg.Storage.Writable(r.Context()); err != nil {
			body["status"], body["reason"], code = "storage failing", err.Error(), http.StatusServiceUnavailable
			if errors.Is(err, store.ErrFull) {
				body["status"] = "storage full"
			}
		}
	}
	if s.lameduck.Load() {
		body["status"], code = "shutting down", http.StatusServiceUnavailable
	}
	if b, on := s.cfg.Registry.BrakeOn(); on {
		body["brake"] = b // ready all the same: see brake.go
	}
	writeJSON(w, code, body)
}
