package api

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"

	"github.com/dnslb/dnslb/internal/record"
)

// Every API write gets one audit line: method, path, the zone and record
// set it names, the status, the revision it made and who sent it. Lease
// renewals are not audited: they are the steady heartbeat of every agent,
// kept in memory, and would drown the writes.

// maxAuditBody is how much of a write's answer is kept to find its
// revision; answers to writes are small.
const maxAuditBody = 64 << 10

// audited reports whether r is a write to audit.
func audited(r *http.Request) bool {
	switch r.Method {
	case http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch:
		// renewals are no change; nor are the cluster's questions (cluster.go)
		return !strings.HasSuffix(r.URL.Path, "/renew") && !strings.HasPrefix(r.URL.Path, "/v1/cluster/")
	}
	return false
}

// auditWriter keeps the status and the beginning of the answer.
type auditWriter struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (w *auditWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *auditWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if room := maxAuditBody - w.body.Len(); room > 0 {
		w.body.Write(b[:min(len(b), room)])
	}
	return w.ResponseWriter.Write(b)
}

// answered is what an audit line reads from a write's answer.
type answered struct {
	Revision *int64      `json:"revision"`
	Name     string      `json:"name"` // a zone created
	RRSet    *record.Key `json:"rrset"`
}

// audit logs the write r, answered through w.
func (s *Server) audit(w *auditWriter, r *http.Request) {
	var ans answered
	_ = json.Unmarshal(w.body.Bytes(), &ans) // errors and empty answers have no revision
	attrs := []slog.Attr{slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Int("status", w.status)}
	zone := r.PathValue("zone")
	if zone == "" {
		zone = ans.Name
	}
	if zone != "" {
		zone = record.Fqdn(strings.ToLower(zone))
		attrs = append(attrs, slog.String("zone", zone))
	}
	if set := auditedSet(r, zone, ans.RRSet); set != "" {
		attrs = append(attrs, slog.String("set", set))
	}
	if w.status < 300 {
		attrs = append(attrs, slog.Int64("revision", s.revisionOf(ans, r)))
	}
	if tok := tokenOf(r); tok != nil {
		attrs = append(attrs, slog.String("token", tok.Name))
	}
	attrs = append(attrs, slog.String("remote", r.RemoteAddr))
	if changes := changesOf(r); len(changes) > 0 {
		attrs = append(attrs, slog.Any("changes", changes))
	}
	s.log.LogAttrs(r.Context(), slog.LevelInfo, "api write", attrs...)
}

// auditedSet names the record set a write was about, if one.
func auditedSet(r *http.Request, zone string, stored *record.Key) string {
	if stored != nil && stored.Name != "" {
		return stored.String()
	}
	name := r.PathValue("name")
	if name == "" {
		return ""
	}
	if canonical, err := record.Canonical("name", name, zone); err == nil {
		name = canonical
	}
	k := record.Key{Name: name, Type: record.Type(strings.ToUpper(r.PathValue("type"))), SetID: r.URL.Query().Get("set_id")}
	return k.String()
}

// revisionOf is the revision a write answered with, or, for answers that
// carry none (drain, health), the one its last change made, or else the
// revision DNS answers from once the write returned: writes return only
// when answers carry them.
func (s *Server) revisionOf(ans answered, r *http.Request) int64 {
	if ans.Revision != nil {
		return *ans.Revision
	}
	if info, ok := r.Context().Value(infoKey{}).(*reqInfo); ok && info.actor != nil {
		if changes := info.actor.Changes(); len(changes) > 0 {
			return changes[len(changes)-1].Revision
		}
	}
	if snap := s.cfg.Registry.Load(); snap != nil {
		return snap.Rev
	}
	return 0
}

// changesOf is what the write r changed, as the history notes it: one
// "set: event (detail)" per transition.
func changesOf(r *http.Request) []string {
	info, ok := r.Context().Value(infoKey{}).(*reqInfo)
	if !ok || info.actor == nil {
		return nil
	}
	var out []string
	for _, tr := range info.actor.Changes() {
		text := tr.Key.String() + ": " + string(tr.Event)
		if tr.Detail != "" {
			text += " (" + tr.Detail + ")"
		}
		out = append(out, text)
	}
	return out
}
