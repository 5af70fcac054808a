package cluster

import (
	"context"
	"net/http"
	"sync"
)

// AppliedResponse answers AppliedRoute.
type AppliedResponse struct {
	Applied int64 `json:"applied"` // the store revision the server's answers carry
}

// Sync reports how many live servers carry store revision rev in their
// answers (this one included), how many are live, and the ids of those
// that do not yet or did not answer. A change is INSYNC when pending is
// empty: Route 53's contract, measured by asking every live server.
func (n *Node) Sync(ctx context.Context, rev int64) (applied, live int, pending []string) {
	if b := n.local.Load(); b == nil || b.Applied() < rev {
		pending = append(pending, n.cfg.ID)
	} else {
		applied++
	}
	others := n.others()
	got := make([]bool, len(others))
	var wg sync.WaitGroup
	for i, m := range others {
		wg.Go(func() {
			var ans AppliedResponse
			got[i] = n.call(ctx, m, http.MethodGet, appliedPath, nil, &ans) == nil && ans.Applied >= rev
		})
	}
	wg.Wait()
	for i, ok := range got {
		if ok {
			applied++
		} else {
			pending = append(pending, others[i].ID)
		}
	}
	return applied, 1 + len(others), pending
}
