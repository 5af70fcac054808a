package api

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/dnslb/dnslb/internal/api/client"
)

// Backuper writes a consistent copy of the store: start gets the copy's
// exact length and revision before the first byte. *boltstore.Store is
// one.
type Backuper interface {
	Backup(ctx context.Context, w io.Writer, start func(size, rev int64)) (int64, error)
}

// backup streams a consistent copy of the data file, for `dnslb backup`.
// The length is declared up front, so a copy cut short by an error is a
// short body the client sees, never a complete-looking file.
func (s *Server) backup(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Backup == nil {
		writeJSON(w, http.StatusNotImplemented, client.ErrorBody{Error: client.Error{
			Code: client.CodeUnavailable, Message: "this server's store cannot be backed up through the API"}})
		return
	}
	started := false
	n, err := s.cfg.Backup.Backup(r.Context(), w, func(size, rev int64) {
		h := w.Header()
		h.Set("Content-Type", "application/octet-stream")
		h.Set("Content-Length", strconv.FormatInt(size, 10))
		h.Set(client.RevisionHeader, strconv.FormatInt(rev, 10))
		h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="dnslb-%s-rev%d.db"`, time.Now().UTC().Format("20060102T150405Z"), rev))
		w.WriteHeader(http.StatusOK)
		started = true
	})
	switch {
	case err == nil:
		s.log.Info("backup sent", "bytes", n, "remote", r.RemoteAddr)
	case !started:
		s.writeError(w, r, err)
	default: // the client gets fewer bytes than declared
		s.log.Warn("backup cut short", "bytes", n, "remote", r.RemoteAddr, "err", err)
	}
}
