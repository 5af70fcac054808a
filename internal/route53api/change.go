package route53api

import (
	"context"
	"encoding/base32"
	"encoding/binary"
	"net/http"
	"time"
)

// A change id is "C" and the base32 of the store revision the change
// committed and the second it was submitted: any server of a cluster can
// answer GetChange for it without keeping anything.

var changeEnc = base32.StdEncoding.WithPadding(base32.NoPadding)

// Change statuses.
const (
	statusPending = "PENDING"
	statusInSync  = "INSYNC"
)

func changeID(rev int64, at time.Time) string {
	var b [13]byte
	binary.BigEndian.PutUint64(b[:8], uint64(rev))
	sec := uint64(at.Unix())
	for i := range 5 {
		b[12-i] = byte(sec >> (8 * i))
	}
	return "C" + changeEnc.EncodeToString(b[:])
}

func parseChangeID(id string) (rev int64, at time.Time, ok bool) {
	if len(id) < 2 || id[0] != 'C' {
		return 0, time.Time{}, false
	}
	b, err := changeEnc.DecodeString(id[1:])
	if err != nil || len(b) != 13 {
		return 0, time.Time{}, false
	}
	var sec uint64
	for _, x := range b[8:] {
		sec = sec<<8 | uint64(x)
	}
	return int64(binary.BigEndian.Uint64(b[:8])), time.Unix(int64(sec), 0).UTC(), true
}

// applied reports whether the change that committed revision rev is in
// DNS answers: on one server, in this server's snapshot; in a cluster
// (Options.Sync), in the answers of every live server. This is the one
// place that decides INSYNC.
func (h *Handler) applied(ctx context.Context, rev int64) bool {
	if h.opts.Sync != nil {
		applied, live, _ := h.opts.Sync.Sync(ctx, rev)
		return applied >= live
	}
	return h.opts.Registry.Published() >= rev
}

// changeInfo describes the change that committed rev, submitted now.
func (h *Handler) changeInfo(ctx context.Context, rev int64, comment string) changeInfo {
	now := h.now().UTC().Truncate(time.Second)
	return h.infoOf(ctx, rev, now, comment)
}

func (h *Handler) infoOf(ctx context.Context, rev int64, at time.Time, comment string) changeInfo {
	status := statusPending
	if h.applied(ctx, rev) {
		status = statusInSync
	}
	return changeInfo{ID: "/change/" + changeID(rev, at), Status: status, SubmittedAt: at, Comment: comment}
}

func (h *Handler) getChange(c *call) (int, any, error) {
	id := bareID(c.r.PathValue("id"))
	rev, at, ok := parseChangeID(id)
	cur, err := h.opts.Registry.Revision(c.r.Context())
	if err != nil {
		return 0, nil, err
	}
	if !ok || rev < 0 || rev > cur || at.After(h.now().Add(MaxSkew)) {
		return 0, nil, &Error{Status: http.StatusNotFound, Code: codeNoSuchChange, Message: "A change with the specified change ID does not exist: " + id}
	}
	return http.StatusOK, getChangeResponse{NS: Namespace, ChangeInfo: h.infoOf(c.r.Context(), rev, at, "")}, nil
}
