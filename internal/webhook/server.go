package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/dnslb/dnslb/internal/registry"
)

// Config configures the webhook server.
type Config struct {
	Addr     string // listen address, e.g. 127.0.0.1:8888
	Registry *registry.Registry
	Logger   *slog.Logger
	// Owner is the writer of requests to the bare routes (without
	// /owner/NAME); DefaultOwner when empty.
	Owner string
	// Listener, when set, is served instead of a listener bound to Addr.
	Listener net.Listener
	MaxBody  int64         // request body limit; DefaultMaxBody when 0
	Shutdown time.Duration // how long in-flight requests get at shutdown
}

// Defaults of Config.
const (
	DefaultOwner   = "external-dns"
	DefaultMaxBody = 32 << 20 // external-dns --webhook-provider-max-body-size
)

// OwnerPrefix starts record.Set.Owner of every set a writer owns.
const OwnerPrefix = "external-dns/"

// Server serves the protocol. New starts nothing; Listen binds; Run serves.
type Server struct {
	cfg Config
	log *slog.Logger
	mux *http.ServeMux
	ln  net.Listener
}

// New returns a server for cfg.
func New(cfg Config) *Server {
	if cfg.Owner == "" {
		cfg.Owner = DefaultOwner
	}
	if cfg.MaxBody == 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, log: cfg.Logger, mux: http.NewServeMux()}
	s.routes()
	return s
}

// CheckOwner validates a writer's name: 1..63 characters of a-z, 0-9,
// '-', '_' and '.'.
func CheckOwner(name string) error {
	if name == "" || len(name) > 63 || strings.Trim(name, "abcdefghijklmnopqrstuvwxyz0123456789-_.") != "" {
		return fmt.Errorf("owner %q: allowed 1..63 characters of a-z, 0-9, '-', '_' and '.'", name)
	}
	return nil
}

func (s *Server) routes() {
	for _, p := range []string{"", "/owner/{owner}"} {
		s.mux.HandleFunc("GET "+p+"/{$}", s.negotiate)
		s.mux.HandleFunc("GET "+p+"/records", s.records)
		s.mux.HandleFunc("POST "+p+"/records", s.applyChanges)
		s.mux.HandleFunc("POST "+p+"/adjustendpoints", s.adjust)
		s.mux.HandleFunc("GET "+p+"/healthz", s.healthz)
	}
	s.mux.HandleFunc("GET /owner/{owner}", s.negotiate)
}

// ServeHTTP serves the routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// owner is the writer of r, or an error answered with 400.
func (s *Server) owner(r *http.Request) (string, error) {
	o := r.PathValue("owner")
	if o == "" {
		return s.cfg.Owner, nil
	}
	return o, CheckOwner(o)
}

// negotiate answers the domain filter: the zones served.
func (s *Server) negotiate(w http.ResponseWriter, r *http.Request) {
	if _, err := s.owner(r); err != nil {
		s.fail(w, r, http.StatusBadRequest, err)
		return
	}
	zones, err := s.zones(r.Context())
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	df := DomainFilter{Include: []string{}}
	for _, z := range zones {
		df.Include = append(df.Include, strings.TrimSuffix(z, "."))
	}
	s.answer(w, df)
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}

// answer writes v as the protocol's JSON with status 200.
func (s *Server) answer(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", MediaType)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		s.log.Debug("external-dns webhook: answer not written", "err", err)
	}
}

// fail answers an error as text (external-dns logs the status only) and
// logs it: 4xx at warn, 5xx at error.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, status int, err error) {
	level := slog.LevelWarn
	if status >= 500 {
		level = slog.LevelError
	}
	s.log.Log(r.Context(), level, "external-dns webhook request failed", "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
	http.Error(w, err.Error(), status)
}

// decode reads r's JSON body into v: the protocol's media type or
// application/json, at most MaxBody bytes.
func (s *Server) decode(w http.ResponseWriter, r *http.Request, v any) (int, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && mt != "application/external.dns.webhook+json") {
			return http.StatusUnsupportedMediaType, fmt.Errorf("Content-Type %q: allowed %s or application/json", ct, MediaType)
		}
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBody)
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return http.StatusRequestEntityTooLarge, fmt.Errorf("body: larger than %d bytes", s.cfg.MaxBody)
		}
		return http.StatusBadRequest, fmt.Errorf("body: not valid JSON of the webhook protocol: %w", err)
	}
	return 0, nil
}

// Listen binds the address, or takes Config.Listener.
func (s *Server) Listen() error {
	if s.cfg.Listener != nil {
		s.ln = s.cfg.Listener
		return nil
	}
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("external-dns webhook: %w", err)
	}
	s.ln = ln
	return nil
}

// Addr is the bound address; valid after Listen.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Run serves until ctx ends, then gives in-flight requests cfg.Shutdown to
// finish. It returns the error of a listener that fails.
func (s *Server) Run(ctx context.Context) error {
	if s.ln == nil {
		if err := s.Listen(); err != nil {
			return err
		}
	}
	hs := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute,
		WriteTimeout: time.Minute, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10,
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(s.ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("external-dns webhook: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.Shutdown)
	defer cancel()
	err := hs.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = hs.Close()
	}
	<-errc
	if err != nil {
		return fmt.Errorf("external-dns webhook shutdown: %w", err)
	}
	return nil
}
