package api

import (
	"net/http"

	"github.com/dnslb/dnslb/internal/api/client"
	"github.com/dnslb/dnslb/internal/record"
)

// GET /v1/explain?name=&type= says why each set of a name is or is not
// answered (registry.Explain); GET /v1/zones/{zone}/history?name=&type=&set_id=
// lists the name's transitions from the store's journal. Both are reads.

func (s *Server) explain(w http.ResponseWriter, r *http.Request) {
	if err := onlyParams(r, "name", "type"); err != nil {
		s.writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	ex, err := s.cfg.Registry.Explain(r.Context(), q.Get("name"), q.Get("type"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ex)
}

func (s *Server) history(w http.ResponseWriter, r *http.Request) {
	if err := onlyParams(r, "name", "type", "set_id"); err != nil {
		s.writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	trs, err := s.cfg.Registry.History(r.Context(), r.PathValue("zone"), q.Get("name"), q.Get("type"), q.Get("set_id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if trs == nil {
		trs = []record.Transition{}
	}
	writeJSON(w, http.StatusOK, client.HistoryResult{Transitions: trs})
}

// onlyParams refuses query parameters other than allowed.
func onlyParams(r *http.Request, allowed ...string) error {
	for k := range r.URL.Query() {
		ok := false
		for _, a := range allowed {
			ok = ok || k == a
		}
		if !ok {
			return record.Errorf(k, "is not a known parameter; allowed: %s", joinComma(allowed))
		}
	}
	return nil
}

func joinComma(s []string) string {
	out := ""
	for i, v := range s {
		if i > 0 {
			out += ", "
		}
		out += v
	}
	return out
}
