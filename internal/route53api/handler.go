package route53api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/dnslb/dnslb/internal/auth"
	"github.com/dnslb/dnslb/internal/registry"
)

// Options configure a Handler.
type Options struct {
	Registry *registry.Registry
	Keys     *Keys // the access keys it accepts; required
	// KeysFile, when set, is where Keys were read from: Reload reads it
	// again.
	KeysFile string
	Logger   *slog.Logger
	Now      func() time.Time // the clock for signatures and changes; time.Now when nil
	// Inject, when set, is called with the name of each authenticated
	// operation ("ChangeResourceRecordSets") before it runs; an error it
	// returns (Throttling(), PriorRequestNotComplete()) is answered
	// instead. Tests of clients use it to make the server throttle.
	Inject func(op string) error
	// Sync, when set, tells on how many of a cluster's live servers a
	// revision is in DNS answers (cluster.Node): a change is INSYNC once
	// it is on all of them. Without it, once it is in this server's.
	Sync Syncer
	// ProbeInterval, when set, is the interval of every health check's
	// probes instead of its RequestInterval (10 or 30 s): tests.
	ProbeInterval time.Duration
}

// Syncer is what Options.Sync needs of a cluster (cluster.Node).
type Syncer interface {
	Sync(ctx context.Context, rev int64) (applied, live int, pending []string)
}

// Handler serves the Route 53 API (and STS GetCallerIdentity). New starts
// nothing; it is an http.Handler mounted by package api (Match).
type Handler struct {
	opts  Options
	log   *slog.Logger
	mux   *http.ServeMux
	ops   map[string]operation // by mux pattern
	keys  atomic.Pointer[Keys]
	lists listCache // list.go
}

// operation is one API call: its name (as in IAM and Options.Inject),
// whether it writes, and its function.
type operation struct {
	name  string
	write bool
	fn    func(c *call) (status int, v any, err error)
}

// call is one request being served.
type call struct {
	w         http.ResponseWriter
	r         *http.Request
	body      []byte
	key       *Key
	requestID string
}

// New returns a Handler for opts.
func New(opts Options) *Handler {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	h := &Handler{opts: opts, log: opts.Logger, mux: http.NewServeMux(), ops: map[string]operation{}}
	h.keys.Store(opts.Keys)
	h.routes()
	return h
}

// Reload reads the credentials file (Options.KeysFile) again; if it fails
// to load, the keys in use stay.
func (h *Handler) Reload() error {
	if h.opts.KeysFile == "" {
		return nil
	}
	ks, err := ReadKeys(h.opts.KeysFile)
	if err != nil {
		return err
	}
	h.keys.Store(ks)
	return nil
}

func (h *Handler) now() time.Time { return h.opts.Now() }

// Match reports whether r is a request for this API: anything under
// /2013-04-01/, and POST / (STS's query protocol, GetCallerIdentity).
func Match(r *http.Request) bool {
	return strings.HasPrefix(r.URL.Path, "/2013-04-01/") || r.URL.Path == "/" && r.Method == http.MethodPost
}

const prefix = "/2013-04-01"

func (h *Handler) routes() {
	for pattern, op := range map[string]operation{
		"POST " + prefix + "/hostedzone":             {"CreateHostedZone", true, h.createHostedZone},
		"GET " + prefix + "/hostedzone":              {"ListHostedZones", false, h.listHostedZones},
		"GET " + prefix + "/hostedzonesbyname":       {"ListHostedZonesByName", false, h.listHostedZonesByName},
		"GET " + prefix + "/hostedzone/{id}":         {"GetHostedZone", false, h.getHostedZone},
		"DELETE " + prefix + "/hostedzone/{id}":      {"DeleteHostedZone", true, h.deleteHostedZone},
		"POST " + prefix + "/hostedzone/{id}/rrset":  {"ChangeResourceRecordSets", true, h.changeRecordSets},
		"POST " + prefix + "/hostedzone/{id}/rrset/": {"ChangeResourceRecordSets", true, h.changeRecordSets},
		"GET " + prefix + "/hostedzone/{id}/rrset":   {"ListResourceRecordSets", false, h.listRecordSets},
		"GET " + prefix + "/hostedzone/{id}/rrset/":  {"ListResourceRecordSets", false, h.listRecordSets},
		"GET " + prefix + "/change/{id}":             {"GetChange", false, h.getChange},
		"POST /{$}":                                  {"GetCallerIdentity", false, h.sts},
	} {
		h.handle(pattern, op)
	}
	h.moreRoutes()
}

func (h *Handler) handle(pattern string, op operation) {
	h.ops[pattern] = op
	h.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) { h.run(op, w, r) })
}

// moreRoutes adds the calls of the second part (tags, health checks).
func (h *Handler) moreRoutes() {
	h.tagsRoutes()
	h.checkRoutes()
}

// ServeHTTP runs the operation r asks for (run), or answers that there
// is none.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, pattern := h.mux.Handler(r); pattern != "" {
		h.mux.ServeHTTP(w, r)
		return
	}
	writeError(w, &Error{Status: http.StatusNotFound, Code: codeUnknownOperation,
		Message: fmt.Sprintf("dnslb's Route 53 API has no operation %s %s; see the README's Route 53 API section", r.Method, r.URL.Path)}, Namespace, newRequestID())
}

// run reads the body, authenticates, authorizes and runs op, answering
// errors in Route 53's form.
func (h *Handler) run(op operation, w http.ResponseWriter, r *http.Request) {
	c := &call{w: w, r: r, requestID: newRequestID()}
	ns := Namespace
	if op.name == "GetCallerIdentity" {
		ns = stsNamespace
	}
	status, v, err := h.serve(op, c)
	code := ""
	if err != nil {
		e := h.asError(c, err)
		status, code = e.Status, e.Code
		writeError(w, e, ns, c.requestID)
	} else {
		writeXML(w, status, c.requestID, v)
	}
	if op.write {
		h.audit(op, c, status, code)
	}
}

// audit logs one line per write, as the v1 API does: the call, what it
// named, the answer and who sent it.
func (h *Handler) audit(op operation, c *call, status int, code string) {
	attrs := []slog.Attr{slog.String("op", op.name), slog.String("path", c.r.URL.Path), slog.Int("status", status)}
	if code != "" {
		attrs = append(attrs, slog.String("code", code))
	}
	if c.key != nil {
		attrs = append(attrs, slog.String("key", c.key.ID))
	}
	attrs = append(attrs, slog.String("request_id", c.requestID), slog.String("remote", c.r.RemoteAddr))
	h.log.LogAttrs(c.r.Context(), slog.LevelInfo, "route53 write", attrs...)
}

func (h *Handler) serve(op operation, c *call) (int, any, error) {
	var err error
	if c.body, err = io.ReadAll(c.r.Body); err != nil {
		return 0, nil, err
	}
	service := "route53"
	if op.name == "GetCallerIdentity" {
		service = "sts"
	}
	key, aerr := h.authenticate(c.r, c.body, service)
	if aerr != nil {
		return 0, nil, aerr
	}
	c.key = key
	if op.write && key.Token.Scope == auth.Read {
		return 0, nil, accessDenied("User: %s is not authorized to perform: route53:%s (its scope is read)", key.ID, op.name)
	}
	if op.write && key.Token.Scope == auth.Register && op.name != "ChangeResourceRecordSets" {
		return 0, nil, accessDenied("User: %s is not authorized to perform: route53:%s (scope register changes weighted record sets only)", key.ID, op.name)
	}
	if h.opts.Inject != nil {
		if err := h.opts.Inject(op.name); err != nil {
			return 0, nil, err
		}
	}
	return op.fn(c)
}

// asError turns err into a Route 53 error; errors that are not one are
// logged and answered as internal failures.
func (h *Handler) asError(c *call, err error) *Error {
	var e *Error
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &e):
		return e
	case errors.As(err, &tooLarge):
		return invalidInput("The request body is larger than %d bytes", tooLarge.Limit)
	}
	if e := fromRegistry(err); e != nil {
		return e
	}
	h.log.Error("route53 api request failed", "method", c.r.Method, "path", c.r.URL.Path, "err", err)
	return &Error{Status: http.StatusInternalServerError, Code: codeInternal, Message: "internal error; see the server log"}
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	s := hex.EncodeToString(b[:])
	return s[:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:]
}
