package webhook

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/registry"
)

// zones lists the zones served (not being deleted), canonical.
func (s *Server) zones(ctx context.Context) ([]string, error) {
	zs, err := s.cfg.Registry.Zones(ctx)
	if err != nil {
		return nil, fmt.Errorf("zones: %w", err)
	}
	var out []string
	for _, z := range zs {
		if !z.Deleting {
			out = append(out, z.Name)
		}
	}
	sort.Strings(out)
	return out, nil
}

// zoneOf is the longest of zones that holds name (any case, dot or not),
// or "".
func zoneOf(zones []string, name string) string {
	fq := record.Fqdn(name)
	best := ""
	for _, z := range zones {
		if record.InZone(fq, z) && len(z) > len(best) {
			best = z
		}
	}
	return best
}

// ownerTag is record.Set.Owner of the sets writer owns.
func ownerTag(writer string) string { return OwnerPrefix + writer }

// records answers the writer's active sets in every zone served.
func (s *Server) records(w http.ResponseWriter, r *http.Request) {
	writer, err := s.owner(r)
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, err)
		return
	}
	eps, err := s.owned(r.Context(), ownerTag(writer))
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	s.answer(w, eps)
}

// owned lists, as endpoints, the active sets whose owner is tag.
func (s *Server) owned(ctx context.Context, tag string) ([]*Endpoint, error) {
	zones, err := s.zones(ctx)
	if err != nil {
		return nil, err
	}
	eps := []*Endpoint{}
	for _, z := range zones {
		sets, err := s.cfg.Registry.Sets(ctx, z, registry.Filter{})
		if err != nil {
			return nil, fmt.Errorf("zone %s: %w", z, err)
		}
		for i := range sets {
			if sets[i].Owner == tag && sets[i].State == record.Active {
				eps = append(eps, fromSet(&sets[i]))
			}
		}
	}
	return eps, nil
}

// adjust answers the endpoints as they will be stored and shown by GET
// /records, so that the planner compares like with like; an endpoint
// dnslb cannot store (outside the zones, an unsupported type, an invalid
// value or weight) is dropped with a warning, so that it never fails a
// whole batch of changes.
func (s *Server) adjust(w http.ResponseWriter, r *http.Request) {
	var in []*Endpoint
	if status, err := s.decode(w, r, &in); err != nil {
		s.fail(w, r, status, err)
		return
	}
	zones, err := s.zones(r.Context())
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	out := []*Endpoint{}
	for i, e := range in {
		if e == nil {
			continue
		}
		set, _, err := endpointSet(zones, e)
		if err != nil {
			s.log.Warn("external-dns endpoint dropped: dnslb cannot serve it", "endpoint", e.describe(), "err", fmt.Errorf("endpoints[%d]: %w", i, err))
			continue
		}
		adj := fromSet(&set)
		if e.RecordTTL == 0 {
			adj.RecordTTL = 0 // not configured: the planner leaves the TTL alone
		}
		adj.Labels = e.Labels
		out = append(out, adj)
	}
	s.answer(w, out)
}

// endpointSet is the set e stands for in the zone of zones that holds it.
func endpointSet(zones []string, e *Endpoint) (record.Set, bool, error) {
	z := zoneOf(zones, e.DNSName)
	if z == "" {
		return record.Set{}, false, record.Errorf("dnsName", "%q is in no zone dnslb serves (%s)", e.DNSName, strings.Join(zones, ", "))
	}
	return toSet(e, z)
}

// applyChanges applies plan.Changes: creates and updates become upserts of
// sets the writer owns, deletes delete them. A change to a set that
// another writer owns is skipped and logged; a delete of a set that is
// gone already is skipped. The changes of one zone are one atomic batch.
func (s *Server) applyChanges(w http.ResponseWriter, r *http.Request) {
	writer, err := s.owner(r)
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, err)
		return
	}
	var ch Changes
	if status, err := s.decode(w, r, &ch); err != nil {
		s.fail(w, r, status, err)
		return
	}
	if err := s.apply(r.Context(), writer, &ch); err != nil {
		s.fail(w, r, statusOf(err), err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// statusOf is the answer to a failed batch: 400 for what the request got
// wrong (external-dns then stops, as for any provider's permanent error),
// 500 for the rest (external-dns retries).
func statusOf(err error) int {
	var fe *record.FieldError
	if errors.As(err, &fe) {
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}
