package api

import (
	"fmt"
	"net/http"
	"time"

	"github.com/dnslb/dnslb/internal/api/client"
	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/registry"
	"github.com/dnslb/dnslb/internal/selector"
)

// buildStatus reads the page q of the status view: the names matching
// it, then the sets of the names on the page only.
func (s *Server) buildStatus(r *http.Request, q client.StatusQuery) (client.StatusPage, error) {
	reg := s.cfg.Registry
	groups, err := reg.Groups(r.Context(), q.Name)
	if err != nil {
		return client.StatusPage{}, err
	}
	if q.Zone != "" {
		if groups, err = inZone(groups, q.Zone); err != nil {
			return client.StatusPage{}, err
		}
	}
	page := client.StatusPage{Now: time.Now(), Brake: reg.Brake(), Query: q.Name, Zone: q.Zone, Page: q.Page,
		PerPage: q.PerPage, Total: len(groups), Names: []client.NameStatus{}}
	page.Pages = max(1, (len(groups)+q.PerPage-1)/q.PerPage)
	if snap := reg.Load(); snap != nil {
		page.Revision = snap.Rev
	}
	from := min((q.Page-1)*q.PerPage, len(groups))
	for _, g := range groups[from:min(from+q.PerPage, len(groups))] {
		ns, err := s.nameStatus(r, g, q.Chart)
		if err != nil {
			return client.StatusPage{}, err
		}
		page.Names = append(page.Names, ns)
	}
	return page, nil
}

// inZone keeps the groups of zone.
func inZone(groups []record.Key, zone string) ([]record.Key, error) {
	z, err := record.ZoneName("zone", zone)
	if err != nil {
		return nil, err
	}
	out := groups[:0]
	for _, g := range groups {
		if g.Zone == z {
			out = append(out, g)
		}
	}
	return out, nil
}

// nameStatus reads the sets of the name and type of g with their status.
func (s *Server) nameStatus(r *http.Request, g record.Key, chart bool) (client.NameStatus, error) {
	reg := s.cfg.Registry
	sets, err := reg.Sets(r.Context(), g.Zone, registry.Filter{Name: g.Name, Type: string(g.Type)})
	if err != nil {
		return client.NameStatus{}, err
	}
	z, err := reg.Zone(r.Context(), g.Zone)
	if err != nil {
		return client.NameStatus{}, err
	}
	ns := client.NameStatus{Zone: g.Zone, Name: g.Name, Type: g.Type, Policy: z.Policy(g.Name), Sets: make([]client.SetStatus, len(sets))}
	statuses := reg.Statuses(sets)
	hide := hidesCheckDetails(r)
	anyEligible := false
	for i := range sets {
		set, st := sets[i], statuses[i]
		if hide {
			hideCheckDetails(&set, &st)
		}
		anyEligible = anyEligible || st.Eligible
		if st.Braked {
			ns.Braked++
		}
		ns.Sets[i] = client.SetStatus{SetID: set.SetID, Values: set.Values, Weight: set.Weight, TTL: set.TTL,
			Lease: set.Lease, State: st.State, Force: set.Force, Status: st}
	}
	tier := selector.TierNone
	if snap := reg.Load(); snap != nil {
		zg, _ := snap.Group(g)
		tier, ns.FailOpen = zg.Tier, zg.FailOpen
	}
	ns.Tier = tier.String()
	ns.Alert = alertOf(ns, len(sets) > 0 && !anyEligible)
	if chart {
		c := reg.Chart(g)
		ns.Chart = &c
	}
	return ns, nil
}

// alertOf says in words what is wrong with a name as a whole.
func alertOf(ns client.NameStatus, noneEligible bool) string {
	var text string
	switch {
	case ns.FailOpen:
		text = "Failing open: no set is eligible, so all of them are answered by weight as if healthy."
	case noneEligible && ns.Policy == record.FailClosed:
		text = "Failing closed: no set is eligible, so the name answers NODATA."
	case noneEligible:
		text = "No set can answer (all draining or gone): the name answers NODATA."
	}
	if ns.Braked > 0 {
		text += fmt.Sprintf(" Braked: the mass-expiry brake keeps %d lapsed set(s) in answers.", ns.Braked)
	}
	return trimSpace(text)
}

func trimSpace(s string) string {
	for len(s) > 0 && s[0] == ' ' {
		s = s[1:]
	}
	return s
}
