package api

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/dnslb/dnslb/internal/api/client"
	"github.com/dnslb/dnslb/internal/registry"
)

// ChangesRoute reports whether the change committed at a store revision
// (the revision a write returned) is in the answers of every live server:
// PENDING until it is, then INSYNC, as Route 53's GetChange. Serve mounts
// ChangeStatus on it through Config.Extra.
const ChangesRoute = "GET /v1/changes/{revision}"

// Syncer tells how many live servers carry a store revision in their
// answers (cluster.Node); nil on a single server, which answers alone.
type Syncer interface {
	Sync(ctx context.Context, rev int64) (applied, live int, pending []string)
}

// ChangeStatus serves ChangesRoute for reg, asking sync's servers when
// not nil.
func ChangeStatus(reg *registry.Registry, sync Syncer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rev, err := strconv.ParseInt(r.PathValue("revision"), 10, 64)
		if err != nil || rev <= 0 {
			writeJSON(w, http.StatusBadRequest, client.ErrorBody{Error: client.Error{Code: client.CodeInvalid, Field: "revision",
				Message: fmt.Sprintf("%q is not a revision; give the positive integer a write returned", r.PathValue("revision"))}})
			return
		}
		if cur, err := reg.Revision(r.Context()); err != nil || rev > cur {
			writeJSON(w, http.StatusNotFound, client.ErrorBody{Error: client.Error{Code: client.CodeNotFound,
				Message: fmt.Sprintf("no change has revision %d yet (the store is at %d)", rev, cur)}})
			return
		}
		writeJSON(w, http.StatusOK, changeStatus(r.Context(), reg, sync, rev))
	})
}

func changeStatus(ctx context.Context, reg *registry.Registry, sync Syncer, rev int64) client.ChangeStatus {
	st := client.ChangeStatus{Revision: rev, Status: client.StatusInSync, Applied: 1, Live: 1}
	switch {
	case sync != nil:
		st.Applied, st.Live, st.PendingOn = sync.Sync(ctx, rev)
	case reg.Applied() < rev:
		st.Applied = 0
	}
	if st.Applied < st.Live {
		st.Status = client.StatusPending
	}
	return st
}

// appliedWait bounds how long a write's answer waits to say on how many
// live servers it is applied: a server that does not answer by then
// counts as not yet.
const appliedWait = 250 * time.Millisecond

// appliedOn says on how many live servers revision rev is applied, for
// the answer to a write; nil on a single server.
func (s *Server) appliedOn(ctx context.Context, rev int64) *client.Servers {
	if s.cfg.Sync == nil || rev <= 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, appliedWait)
	defer cancel()
	applied, live, _ := s.cfg.Sync.Sync(ctx, rev)
	return &client.Servers{Applied: applied, Live: live}
}
