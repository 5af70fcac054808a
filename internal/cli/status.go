package cli

import (
	"fmt"
	"time"

	"github.com/dnslb/dnslb/internal/record"
)

// Human forms of a set's runtime status for `record ls`.

func stateText(st record.Status, now time.Time) string {
	if st.State == "draining" && st.SafeAt != nil {
		if rem := st.SafeAt.Sub(now); rem > 0 {
			return fmt.Sprintf("draining (safe in %s)", rem.Round(time.Second))
		}
		return "draining (safe)"
	}
	if st.Braked && st.BrakedUntil != nil && st.BrakedUntil.After(now) {
		return fmt.Sprintf("%s (lease lapsed; brake holds it %s more)", st.State, st.BrakedUntil.Sub(now).Round(time.Second))
	}
	if st.Braked {
		return st.State + " (lease lapsed; brake letting go)"
	}
	return st.State
}

func healthText(st record.Status, now time.Time) string {
	if st.HealthSince != nil {
		return fmt.Sprintf("%s %s", st.Health, ago(st.HealthSince, now))
	}
	return st.Health
}

func leaseText(s record.Set, st record.Status) string {
	switch {
	case s.Lease == 0:
		return "-"
	case st.LeaseRemaining > 0:
		return fmt.Sprintf("%s/%s", st.LeaseRemaining.D().Round(time.Second), s.Lease.D())
	}
	return "lapsed/" + s.Lease.D().String()
}

// ago is "12s ago", or "-" for never.
func ago(t *time.Time, now time.Time) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	d := now.Sub(*t)
	if d < time.Second {
		return "now"
	}
	return d.Round(time.Second).String() + " ago"
}
