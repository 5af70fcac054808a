package api

import (
	"bytes"
	"io"
	"net/http"

	"github.com/dnslb/dnslb/internal/api/client"
	"github.com/dnslb/dnslb/internal/record"
)

// keyOf reads the record set key from the path and the set_id query.
func keyOf(r *http.Request) record.Key {
	return record.Key{Zone: r.PathValue("zone"), Name: r.PathValue("name"),
		Type: record.Type(r.PathValue("type")), SetID: r.URL.Query().Get("set_id")}
}

// decodeOptional decodes a body that may be empty.
func decodeOptional(r *http.Request, v any) error {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		return jsonError(err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	r.Body = io.NopCloser(bytes.NewReader(data))
	return decodeBody(r, v)
}

func (s *Server) renew(w http.ResponseWriter, r *http.Request) {
	var req client.RenewRequest
	if err := decodeOptional(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	st, err := s.cfg.Registry.Renew(r.Context(), keyOf(r), req.Healthy)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if hb := s.cfg.Heartbeat; !hb.IsValid() {
		st.Heartbeat = nil
	} else if st.Heartbeat != nil {
		st.Heartbeat.Port = int(hb.Port())
		if !hb.Addr().IsUnspecified() {
			st.Heartbeat.Host = hb.Addr().Unmap().String()
		}
	}
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) drain(w http.ResponseWriter, r *http.Request) {
	var req client.DrainRequest
	if err := decodeOptional(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	margin := record.Duration(-1)
	if req.Margin != nil {
		if req.Margin.D() < 0 {
			s.writeError(w, r, record.Errorf("margin", "%s is negative; allowed 0 or more", req.Margin.D()))
			return
		}
		margin = *req.Margin
	}
	st, err := s.cfg.Registry.Drain(r.Context(), keyOf(r), margin.D(), req.Keep)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) drainStatus(w http.ResponseWriter, r *http.Request) {
	st, err := s.cfg.Registry.DrainStatus(r.Context(), keyOf(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) force(w http.ResponseWriter, r *http.Request) {
	var req client.HealthRequest
	if err := decodeBody(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	f, err := record.ParseForce("force", req.Force)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.cfg.Registry.Force(r.Context(), keyOf(r), f); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"force": string(f)})
}
