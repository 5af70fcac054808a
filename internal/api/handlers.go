package api

import (
	"errors"
	"net/http"

	"github.com/dnslb/dnslb/internal/api/client"
	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/registry"
)

func (s *Server) listZones(w http.ResponseWriter, r *http.Request) {
	zones, err := s.cfg.Registry.Zones(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if zones == nil {
		zones = []record.Zone{}
	}
	writeJSON(w, http.StatusOK, zones)
}

func (s *Server) createZone(w http.ResponseWriter, r *http.Request) {
	var req client.ZoneRequest
	if err := decodeBody(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	z, err := s.cfg.Registry.CreateZone(r.Context(), toZone(req))
	if status, p, ok := s.writeStatus(r, err); ok && p.IsPending() {
		writeJSON(w, status, client.ZoneResult{Zone: z, Pending: p})
		return
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, z)
}

func (s *Server) getZone(w http.ResponseWriter, r *http.Request) {
	z, err := s.cfg.Registry.Zone(r.Context(), r.PathValue("zone"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, z)
}

func (s *Server) deleteZone(w http.ResponseWriter, r *http.Request) {
	force, err := forceParam(r)
	if err == nil {
		err = s.cfg.Registry.DeleteZone(r.Context(), r.PathValue("zone"), force)
	}
	if rev, _, ok := pendingOf(err); ok {
		_, p, _ := s.writeStatus(r, err)
		writeJSON(w, http.StatusAccepted, client.ChangeResult{Revision: rev, Pending: p})
		return
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) putSet(w http.ResponseWriter, r *http.Request) {
	var req client.SetRequest
	if err := decodeBody(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	set, err := toSet(req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	own, err := s.ownPut(r, set, req.Policy)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	zone := r.PathValue("zone")
	change := registry.Change{Action: registry.Upsert, Set: set, Policy: req.Policy, TTLDefault: req.TTL == nil}
	if own != nil {
		change.Guard = own.guard
	}
	rev, err := s.cfg.Registry.Apply(r.Context(), zone, []registry.Change{change})
	status, p, ok := s.writeStatus(r, err)
	if !ok {
		s.writeError(w, r, unwrapChange(err, ""))
		return
	}
	res := s.storedSet(r, zone, set, rev, p)
	if own != nil {
		res.SetSecret = own.secret
	}
	res.Servers = s.appliedOn(r.Context(), rev)
	writeJSON(w, status, res)
}

// storedSet is the answer to a single-set write: the set as stored.
func (s *Server) storedSet(r *http.Request, zone string, set record.Set, rev int64, p client.Pending) client.SetResult {
	sets, err := s.cfg.Registry.Sets(r.Context(), zone, registry.Filter{Name: set.Name, Type: string(set.Type), SetID: set.SetID})
	if err != nil || len(sets) != 1 {
		return client.SetResult{Revision: rev, Pending: p}
	}
	sets[0].OwnerHash, sets[0].BeatKey = "", "" // never shown
	return client.SetResult{Revision: rev, RRSet: sets[0], Pending: p}
}

func (s *Server) deleteSet(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	k := record.Key{Name: r.PathValue("name"), Type: record.Type(r.PathValue("type")), SetID: q.Get("set_id")}
	change := registry.Change{Action: registry.Delete, Set: record.Set{Key: k}, Guard: s.ownDelete(r)}
	rev, err := s.cfg.Registry.Apply(r.Context(), r.PathValue("zone"), []registry.Change{change})
	status, p, ok := s.writeStatus(r, err)
	if !ok {
		s.writeError(w, r, unwrapChange(err, ""))
		return
	}
	writeJSON(w, status, client.ChangeResult{Revision: rev, Pending: p, Servers: s.appliedOn(r.Context(), rev)})
}

func (s *Server) changes(w http.ResponseWriter, r *http.Request) {
	var batch client.ChangeBatch
	if err := decodeBody(r, &batch); err != nil {
		s.writeError(w, r, err)
		return
	}
	changes, err := toChanges(batch)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	rev, err := s.cfg.Registry.Apply(r.Context(), r.PathValue("zone"), changes)
	status, p, ok := s.writeStatus(r, err)
	if !ok {
		s.writeError(w, r, unwrapChange(err, "changes[%d].rrset"))
		return
	}
	writeJSON(w, status, client.ChangeResult{Revision: rev, Pending: p, Servers: s.appliedOn(r.Context(), rev)})
}

// unwrapChange places a registry error about one change under the field
// path the client sent it as (format "" keeps fields as they are).
func unwrapChange(err error, format string) error {
	var ce *registry.ChangeError
	if !errors.As(err, &ce) {
		return err
	}
	if format == "" {
		return ce.Err
	}
	return record.Prefix(fmtIndex(format, ce.Index), ce.Err)
}
