package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/dnslb/dnslb/internal/api/client"
	"github.com/dnslb/dnslb/internal/registry"
)

// pendingOf tells a write that is committed but not yet in DNS answers
// (registry.ErrNotVisible) from one that failed: for the former it returns
// the revision and the body part that says so.
func pendingOf(err error) (rev int64, p client.Pending, ok bool) {
	var nv *registry.NotVisibleError
	if !errors.As(err, &nv) {
		return 0, client.Pending{}, false
	}
	msg := "the change is committed but DNS answers do not carry it yet; they will without anything more being done: do not send it again"
	if nv.Revision > 0 {
		msg = fmt.Sprintf("the change is committed (revision %d) but DNS answers do not carry it yet; they will without anything more being done: do not send it again", nv.Revision)
	}
	return nv.Revision, client.Pending{Status: client.StatusPending, Code: client.CodeNotYetVisible, Message: msg}, true
}

// writeStatus is the HTTP status and Pending part of the answer to a
// write that returned err, and whether it succeeded: 200 when DNS answers
// carry it, 202 when it is committed but not yet in them. ok is false for
// other errors.
func (s *Server) writeStatus(r *http.Request, err error) (status int, p client.Pending, ok bool) {
	if err == nil {
		return http.StatusOK, p, true
	}
	if rev, p, pending := pendingOf(err); pending {
		s.log.Warn("api write committed but not yet in DNS answers", "method", r.Method, "path", r.URL.Path, "revision", rev, "err", err)
		return http.StatusAccepted, p, true
	}
	return 0, p, false
}
