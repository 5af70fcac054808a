package api

import (
	"net/http"
)

// The mass-expiry brake: its state, and an operator's release. While it
// holds, /readyz stays ready and says so in its body: the server answers
// from the best state it has (fail static), and taking it out of service
// would take every answer away for a fault in the fleet's reachability,
// not in this server's answers.

// brakeRoutes adds the brake's routes; reading it is open to readers,
// releasing it takes an admin token (routeAccess in auth.go).
func (s *Server) brakeRoutes(routes map[string]http.HandlerFunc) {
	routes["GET /v1/brake"] = s.brakeStatus
	routes["POST /v1/brake/release"] = s.releaseBrake
}

func (s *Server) brakeStatus(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.cfg.Registry.Brake())
}

func (s *Server) releaseBrake(w http.ResponseWriter, r *http.Request) {
	var req struct{}
	if err := decodeOptional(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	st, err := s.cfg.Registry.ReleaseBrake(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.log.Warn("mass-expiry brake released through the API", "remote", r.RemoteAddr)
	writeJSON(w, http.StatusOK, st)
}
