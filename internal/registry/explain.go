package registry

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/selector"
	"github.com/dnslb/dnslb/internal/store"
	"github.com/dnslb/dnslb/internal/zone"
)

// Explain says, for every set of name and type (A when empty), whether
// it is eligible and why not, which tier answers now and with what
// probability each set is answered. Probabilities and the tier come from
// the snapshot DNS answers from (the selector's own tiers and shares);
// the reasons from the same state the snapshot's eligibility reads.
func (r *Registry) Explain(ctx context.Context, name, typ string) (record.Explanation, error) {
	if typ == "" {
		typ = "A"
	}
	t, err := record.ParseType("type", typ)
	if err != nil {
		return record.Explanation{}, err
	}
	z, sets, err := r.nameSets(ctx, name, t)
	if err != nil {
		return record.Explanation{}, err
	}
	ex := record.Explanation{Zone: z.Name, Name: record.Fqdn(strings.ToLower(name)), Type: t, Policy: z.Policy(record.Fqdn(strings.ToLower(name))), At: r.now()}
	ex.Failure = "open"
	if ex.Policy == record.FailClosed {
		ex.Failure = "closed"
	}
	r.explainSets(&ex, sets)
	return ex, nil
}

// nameSets finds the zone of name and reads its sets of type t.
func (r *Registry) nameSets(ctx context.Context, name string, t record.Type) (record.Zone, []record.Set, error) {
	if name == "" {
		return record.Zone{}, nil, record.Errorf("name", "is required (a name in one of the zones, e.g. www.lb.example.com)")
	}
	fq := record.Fqdn(strings.ToLower(name))
	var (
		z    record.Zone
		sets []record.Set
	)
	_, err := r.store.View(ctx, func(tx store.ReadTx) error {
		zones, err := tx.Zones()
		if err != nil {
			return err
		}
		found := false
		for _, c := range zones { // the longest zone the name is in
			if (fq == c.Name || strings.HasSuffix(fq, "."+c.Name)) && len(c.Name) > len(z.Name) {
				z, found = c, true
			}
		}
		if !found {
			return record.Errorf("name", "%s is in none of this server's zones", fq)
		}
		all, err := tx.Sets(z.Name, fq)
		for _, s := range all {
			if s.Type == t {
				sets = append(sets, s)
			}
		}
		return err
	})
	return z, sets, err
}

// explainSets fills in ex's tier, summary and sets.
func (r *Registry) explainSets(ex *record.Explanation, sets []record.Set) {
	statuses := r.Statuses(sets)
	snap := r.Load()
	var zg zone.Group
	if snap != nil && len(sets) > 0 {
		zg, _ = snap.Group(sets[0].Key)
		ex.Revision = snap.Rev
	}
	ex.Tier, ex.FailOpen = zg.Tier.String(), zg.FailOpen
	share := map[string]float64{}
	for i, s := range zg.Sets {
		share[s.Key.SetID] = zg.Shares[i]
	}
	for i := range sets {
		ex.Sets = append(ex.Sets, r.explainSet(&sets[i], statuses[i], share, zg.Tier, ex.At))
	}
	ex.Summary = summary(ex, zg.Tier)
}

// explainSet explains one set; share holds the snapshot's shares by set id.
func (r *Registry) explainSet(set *record.Set, st record.Status, share map[string]float64, tier selector.Tier, now time.Time) record.SetExplanation {
	p, in := share[set.SetID]
	e := record.SetExplanation{SetID: set.SetID, Values: set.Values, Weight: set.Weight, Eligible: st.Eligible,
		Probability: p, InAnswers: in && p > 0}
	e.Reasons = r.reasons(set, st, now)
	if st.Eligible && !e.InAnswers && set.Weight == 0 && tier == selector.TierWeighted {
		e.Reasons = append(e.Reasons, "standby (weight 0): answered only while no set with weight > 0 is eligible")
	}
	if !st.Eligible && e.InAnswers {
		e.Reasons = append(e.Reasons, "answered anyway: no set is eligible, so the name fails open")
	}
	return e
}

// reasons lists why set is not eligible (and the overrides that make it
// eligible), one fact each.
func (r *Registry) reasons(set *record.Set, st record.Status, now time.Time) []string {
	var out []string
	if set.State == record.Draining {
		out = append(out, drainReason(set, st, now))
	}
	if lapsed, ok := r.leases.lapsedAt(set.Key); ok {
		out = append(out, fmt.Sprintf("lease lapsed %s ago (no renewal within %s)", now.Sub(lapsed).Round(time.Second), set.Lease.D()))
	}
	if st.Braked && st.BrakedUntil != nil {
		out = append(out, fmt.Sprintf("braked: the mass-expiry brake keeps it in answers until %s", st.BrakedUntil.UTC().Format(time.RFC3339)))
	}
	switch {
	case set.Force == record.ForceUp:
		out = append(out, "health forced up by an operator (checks ignored)")
	case set.Force == record.ForceDown:
		out = append(out, "health forced down by an operator")
	case st.Health == "down (agent)":
		out = append(out, "its agent reports it unhealthy")
	case st.Health == "down":
		out = append(out, healthReason(st))
	}
	return out
}

func drainReason(set *record.Set, st record.Status, now time.Time) string {
	text := "draining"
	if set.Drain != nil {
		text += " since " + set.Drain.Started.UTC().Format(time.RFC3339)
	}
	if st.SafeAt != nil {
		if left := st.SafeAt.Sub(now); left > 0 {
			return fmt.Sprintf("%s; safe to remove in %s", text, left.Round(time.Second))
		}
		return text + "; safe to remove now"
	}
	return text
}

func healthReason(st record.Status) string {
	text := "health down"
	if st.HealthSince != nil {
		text += " since " + st.HealthSince.UTC().Format(time.RFC3339)
	}
	if st.HealthError != "" {
		text += ": " + st.HealthError
	}
	return text
}

// summary says in one sentence how the name answers now.
func summary(ex *record.Explanation, tier selector.Tier) string {
	n := 0
	for _, s := range ex.Sets {
		if s.InAnswers {
			n++
		}
	}
	switch {
	case len(ex.Sets) == 0:
		return "no record sets: NODATA"
	case tier == selector.TierNone && ex.Failure == "closed":
		return "fails closed: no set is eligible, so the name answers NODATA"
	case tier == selector.TierNone:
		return "no set can answer (all draining or gone): NODATA"
	case ex.FailOpen:
		return fmt.Sprintf("FAILING OPEN: no set is eligible, so %d answer as if healthy", n)
	}
	return fmt.Sprintf("%d of %d sets answer: %s", n, len(ex.Sets), tier)
}

// lapsedAt returns when the lease of k lapsed, if it has (expired or
// held by the brake).
func (e *leases) lapsedAt(k record.Key) (time.Time, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	l := e.byKey[k]
	if l == nil || !(l.expired || l.held) {
		return time.Time{}, false
	}
	return l.deadline.time(), true
}
