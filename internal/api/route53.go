package api

import (
	"net/http"

	"github.com/dnslb/dnslb/internal/route53api"
)

// serveRoute53 hands the requests of the Route 53-compatible API
// (Config.Route53) to it and reports whether it did. They pass the Host
// and Origin checks; not the Content-Type one, which is against forms a
// browser may post: these requests are signed with an access key's
// secret (SigV4), which no page can do, and clients send them with
// varied types (the STS form among them).
func (s *Server) serveRoute53(w http.ResponseWriter, r *http.Request) bool {
	if s.cfg.Route53 == nil || !route53api.Match(r) {
		return false
	}
	err := s.checkHost(r)
	if err == nil {
		err = checkOrigin(r)
	}
	if err != nil {
		s.writeError(w, r, err)
		return true
	}
	s.cfg.Route53.ServeHTTP(w, r)
	return true
}
