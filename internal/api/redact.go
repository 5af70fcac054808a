package api

import (
	"net/http"

	"github.com/dnslb/dnslb/internal/auth"
	"github.com/dnslb/dnslb/internal/record"
)

// Health check details are admin's. A check's match string and its last
// probe's error say what a backend answered (a body that lacks a match, a
// status, a connection error), so a token that could choose the match
// and read the error would read pages through the check. Other tokens see
// the health state and since when; without tokens everyone is admin.

// hidesCheckDetails reports whether r's token may not see check details.
func hidesCheckDetails(r *http.Request) bool {
	tok := tokenOf(r)
	return tok != nil && tok.Scope != auth.Admin
}

// hideCheckDetails removes from a listed set and its status what only
// admin tokens see: the check's match string and the probe's error text.
func hideCheckDetails(set *record.Set, st *record.Status) {
	if set.Check != nil {
		c := *set.Check // the set's check may be shared with the registry
		c.Match = ""
		set.Check = &c
	}
	st.HealthError = ""
}
