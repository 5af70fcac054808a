package api

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/dnslb/dnslb/internal/api/client"
	"github.com/dnslb/dnslb/internal/auth"
	"github.com/dnslb/dnslb/internal/registry"
)

// Authentication and authorization. With tokens configured every request
// but /healthz and /readyz carries "Authorization: Bearer TOKEN"; what a
// token may do is its scope's (package auth). Without tokens the API is
// open to whoever reaches it, which serve allows on loopback only.

// access is what a route needs.
type access int

const (
	public    access = iota // anyone: health probes
	readable                // read or admin
	ownSet                  // register for its own set (secret), or admin
	readOrOwn               // read, register for its own set, or admin
	adminOnly               // admin
)

// routeAccess is the access of each route; a route not listed (added by
// Config.Extra) needs read for GET and admin otherwise, and admin under
// /debug/ or for backups.
var routeAccess = map[string]access{
	"GET /healthz":                                      public,
	"GET /readyz":                                       public,
	"GET /metrics":                                      readable,
	"GET /v1/zones":                                     readable,
	"POST /v1/zones":                                    adminOnly,
	"GET /v1/zones/{zone}":                              readable,
	"DELETE /v1/zones/{zone}":                           adminOnly,
	"GET /v1/zones/{zone}/rrsets":                       readable,
	"PUT /v1/zones/{zone}/rrsets":                       ownSet,
	"DELETE /v1/zones/{zone}/rrsets/{name}/{type}":      ownSet,
	"POST /v1/zones/{zone}/changes":                     adminOnly,
	"POST /v1/zones/{zone}/rrsets/{name}/{type}/renew":  ownSet,
	"POST /v1/zones/{zone}/rrsets/{name}/{type}/drain":  ownSet,
	"GET /v1/zones/{zone}/rrsets/{name}/{type}/drain":   readOrOwn,
	"POST /v1/zones/{zone}/rrsets/{name}/{type}/health": adminOnly,
	"GET /v1/brake":                                     readable,
	"POST /v1/brake/release":                            adminOnly,
	"POST /v1/cluster/renewals":                         public, // signed with the cluster secret instead (package cluster)
	"GET /v1/cluster/applied":                           public, // likewise
}

func accessOf(r *http.Request, pattern string) access {
	if a, ok := routeAccess[pattern]; ok {
		return a
	}
	if strings.HasPrefix(r.URL.Path, "/debug/") || strings.Contains(r.URL.Path, "backup") {
		return adminOnly
	}
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return readable
	}
	return adminOnly
}

// reqInfo is what the checks learn of a request, for its handler and its
// audit line.
type reqInfo struct {
	token *auth.Token     // nil without tokens
	actor *registry.Actor // names the token in the history; collects what changed
}

type infoKey struct{}

// withInfo returns r carrying a new reqInfo.
func withInfo(r *http.Request) (*http.Request, *reqInfo) {
	info := &reqInfo{actor: &registry.Actor{}}
	ctx := registry.WithActor(context.WithValue(r.Context(), infoKey{}, info), info.actor)
	return r.WithContext(ctx), info
}

// tokenOf is the token r was authenticated with; nil without tokens.
func tokenOf(r *http.Request) *auth.Token {
	if info, ok := r.Context().Value(infoKey{}).(*reqInfo); ok {
		return info.token
	}
	return nil
}

// authenticate finds the token of r. Without tokens configured it is nil.
func (s *Server) authenticate(r *http.Request, a access) (*auth.Token, error) {
	if s.cfg.Tokens == nil || a == public {
		return nil, nil
	}
	h := r.Header.Get("Authorization")
	scheme, secret, _ := strings.Cut(h, " ")
	if h == "" || !strings.EqualFold(scheme, "Bearer") {
		return nil, &requestError{status: http.StatusUnauthorized, code: client.CodeUnauthenticated,
			msg: "this API needs a bearer token: send Authorization: Bearer TOKEN (dnslb --token, DNSLB_TOKEN or --token-file)"}
	}
	tok, ok := s.cfg.Tokens.Tokens().Lookup(strings.TrimSpace(secret))
	if !ok {
		return nil, &requestError{status: http.StatusUnauthorized, code: client.CodeUnauthenticated,
			msg: "the bearer token is not one of this server's tokens (revoked, or mistyped); make one with `dnslb token create`"}
	}
	return tok, nil
}

// authorize checks that tok may make request r to a route needing a.
// Writes of a record set by a register token are checked again by their
// handler, with the set (see owner.go).
func (s *Server) authorize(r *http.Request, a access, tok *auth.Token) error {
	if tok == nil {
		return s.authorizeOpen(r)
	}
	if a == public || tok.Scope == auth.Admin {
		return nil
	}
	switch {
	case tok.Scope == auth.Read && (a == readable || a == readOrOwn):
		return nil
	case tok.Scope == auth.Register && r.Method == http.MethodPut && a == ownSet:
		return nil // the set is in the body: putSet checks it (ownPut)
	case tok.Scope == auth.Register && (a == ownSet || a == readOrOwn):
		return s.checkOwnKey(r, tok)
	}
	return denied("%s %s needs a token with scope %s; token %q has scope %s", r.Method, r.URL.Path, needs(a), tok.Name, tok.Scope)
}

func needs(a access) string {
	switch a {
	case readable:
		return "read or admin"
	case ownSet:
		return "register (for a set it registered) or admin"
	case readOrOwn:
		return "read, register (for a set it registered) or admin"
	}
	return "admin"
}

// authorizeOpen: without tokens everything is allowed but profiles, which
// are served to loopback clients only.
func (s *Server) authorizeOpen(r *http.Request) error {
	if !strings.HasPrefix(r.URL.Path, "/debug/pprof") || isLoopback(r.RemoteAddr) {
		return nil
	}
	return denied("/debug/pprof is served to loopback clients only when serve has no --tokens; with tokens, to admin tokens")
}

func isLoopback(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	ip, perr := netip.ParseAddr(host)
	return err == nil && perr == nil && ip.Unmap().IsLoopback()
}

func denied(format string, args ...any) error {
	return &requestError{status: http.StatusForbidden, code: client.CodePermissionDenied, msg: fmt.Sprintf(format, args...)}
}
