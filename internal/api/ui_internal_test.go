package api

import (
	"testing"

	"github.com/dnslb/dnslb/internal/api/client"
	"github.com/dnslb/dnslb/internal/record"
)

// TestAlertOf: a name's card says in words when it fails open, fails
// closed, has nothing to answer with, or is braked; nothing otherwise.
func TestAlertOf(t *testing.T) {
	for _, c := range []struct {
		ns   client.NameStatus
		none bool
		want string
	}{
		{client.NameStatus{Policy: record.Weighted}, false, ""},
		{client.NameStatus{Policy: record.Weighted, FailOpen: true}, true, "Failing open: no set is eligible, so all of them are answered by weight as if healthy."},
		{client.NameStatus{Policy: record.FailClosed}, true, "Failing closed: no set is eligible, so the name answers NODATA."},
		{client.NameStatus{Policy: record.Weighted}, true, "No set can answer (all draining or gone): the name answers NODATA."},
		{client.NameStatus{Policy: record.Weighted, Braked: 2}, false, "Braked: the mass-expiry brake keeps 2 lapsed set(s) in answers."},
		{client.NameStatus{Policy: record.Weighted, FailOpen: true, Braked: 1}, true,
			"Failing open: no set is eligible, so all of them are answered by weight as if healthy. Braked: the mass-expiry brake keeps 1 lapsed set(s) in answers."},
	} {
		if got := alertOf(c.ns, c.none); got != c.want {
			t.Errorf("%+v: %q, want %q", c.ns, got, c.want)
		}
	}
}
