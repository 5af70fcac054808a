package api

import (
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/dnslb/dnslb/internal/api/client"
)

// Checks every request passes before it reaches a handler, so that a web
// page cannot use a browser as a proxy to the API, on loopback included:
// a foreign Host (DNS rebinding) is refused, and so are a cross-site
// Origin (CSRF) and a body that is not JSON (a form post needs no CORS
// preflight; a JSON one does).

// requestError is a refusal with its own status and code.
type requestError struct {
	status int
	code   string
	msg    string
}

func (e *requestError) Error() string { return e.msg }

// defaultHosts are the Host names every API accepts, with any port.
var defaultHosts = []string{"localhost", "127.0.0.1", "::1"}

// hostSet is the allow-list of Host names (lowercase, no port, no dot at
// the end): the defaults, the host of the API address unless it is a
// wildcard, and the configured ones.
func hostSet(addr string, extra []string) map[string]bool {
	set := map[string]bool{}
	for _, h := range defaultHosts {
		set[h] = true
	}
	if h, _, err := net.SplitHostPort(addr); err == nil && h != "" {
		if ip, err := netip.ParseAddr(h); err != nil || !ip.IsUnspecified() {
			set[normalHost(h)] = true
		}
	}
	for _, h := range extra {
		set[normalHost(h)] = true
	}
	return set
}

func normalHost(h string) string {
	return strings.TrimSuffix(strings.ToLower(strings.Trim(h, "[]")), ".")
}

// checkRequest applies the three checks in order.
func (s *Server) checkRequest(r *http.Request) error {
	if err := s.checkHost(r); err != nil {
		return err
	}
	if err := checkOrigin(r); err != nil {
		return err
	}
	return checkContentType(r)
}

// checkHost accepts a Host in the allow-list, or the address the request
// was sent to (an API on 0.0.0.0 is reached by its addresses).
func (s *Server) checkHost(r *http.Request) error {
	host := normalHost((&url.URL{Host: r.Host}).Hostname())
	if s.hosts[host] || host != "" && isLocalAddr(r, host) {
		return nil
	}
	return &requestError{status: http.StatusMisdirectedRequest, code: client.CodeMisdirectedHost,
		msg: fmt.Sprintf("Host %q is not a name of this API (refused against DNS rebinding); allowed: localhost, 127.0.0.1, [::1], the address the request was sent to, and the names given to serve --api-hosts", r.Host)}
}

// isLocalAddr reports whether host is the IP the connection arrived on.
func isLocalAddr(r *http.Request, host string) bool {
	local, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok {
		return false
	}
	ap, err := netip.ParseAddrPort(local.String())
	ip, perr := netip.ParseAddr(host)
	return err == nil && perr == nil && ap.Addr().Unmap().WithZone("") == ip.Unmap().WithZone("")
}

// checkOrigin refuses a request a browser sent from another origin. The
// CLI and the agent send no Origin.
func checkOrigin(r *http.Request) error {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return nil
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	u, err := url.Parse(origin)
	if err == nil && u.Scheme == scheme && strings.EqualFold(u.Host, r.Host) {
		return nil
	}
	return &requestError{status: http.StatusForbidden, code: client.CodeForbiddenOrigin,
		msg: fmt.Sprintf("Origin %q is not this API's origin (%s://%s); cross-site requests are refused", origin, scheme, r.Host)}
}

// checkContentType requires a body, or a Content-Type on a write, to be
// JSON under /v1/; elsewhere (the Route 53 API's XML) anything but the
// types a browser form may post without a CORS preflight.
func checkContentType(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	hasBody := r.ContentLength != 0
	if !hasBody && (ct == "" || r.Method == http.MethodGet || r.Method == http.MethodHead) {
		return nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	switch {
	case err == nil && mt == "application/json":
		return nil
	case err == nil && !strings.HasPrefix(r.URL.Path, "/v1/") && !formTypes[mt]:
		return nil
	}
	return &requestError{status: http.StatusUnsupportedMediaType, code: client.CodeUnsupported,
		msg: fmt.Sprintf("Content-Type %q: a request body must be application/json", ct)}
}

// formTypes are the types a page may post cross-site without a preflight.
var formTypes = map[string]bool{"text/plain": true, "application/x-www-form-urlencoded": true, "multipart/form-data": true}
