package api

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/dnslb/dnslb/internal/api/client"
	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/registry"
)

// Page sizes of GET /v1/zones/{zone}/rrsets.
const (
	DefaultPageLimit = 1000
	MaxPageLimit     = 10000
)

// listSets answers one page of a zone's record sets, encoding them one by
// one as it writes them: a listing costs memory in proportion to its page,
// not to the zone.
func (s *Server) listSets(w http.ResponseWriter, r *http.Request) {
	f, after, limit, err := listParams(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	page, err := s.cfg.Registry.SetsPage(r.Context(), r.PathValue("zone"), f, after, limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	next := ""
	if page.More {
		next = encodeCursor(page.Sets[len(page.Sets)-1].Key)
	}
	statuses := s.cfg.Registry.Statuses(page.Sets)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_ = writePage(w, page.Sets, statuses, next, hidesCheckDetails(r)) // the client has gone if this fails
}

// writePage writes {"rrsets": [...], "next": "..."} a set at a time,
// without check details when hide is set (hideCheckDetails).
func writePage(w http.ResponseWriter, sets []record.Set, statuses []record.Status, next string, hide bool) error {
	bw := bufio.NewWriterSize(w, 32<<10)
	bw.WriteString("{\n  \"rrsets\": [")
	for i := range sets {
		set := sets[i]
		set.OwnerHash, set.BeatKey = "", "" // never shown
		if hide {
			hideCheckDetails(&set, &statuses[i])
		}
		b, err := json.MarshalIndent(client.SetView{Set: set, Status: statuses[i]}, "    ", "  ")
		if err != nil {
			return err
		}
		if i > 0 {
			bw.WriteByte(',')
		}
		bw.WriteString("\n    ")
		bw.Write(b)
	}
	if len(sets) > 0 {
		bw.WriteString("\n  ")
	}
	nb, _ := json.Marshal(next)
	bw.WriteString("],\n  \"next\": ")
	bw.Write(nb)
	bw.WriteString("\n}\n")
	return bw.Flush()
}

// listParams reads the filters and the page of a listing.
func listParams(r *http.Request) (f registry.Filter, after record.Key, limit int, err error) {
	q := r.URL.Query()
	for k := range q {
		switch k {
		case "name", "type", "set_id", "cursor", "limit":
		default:
			return f, after, 0, record.Errorf(k, "is not a known parameter; allowed: name, type, set_id, cursor, limit")
		}
	}
	f = registry.Filter{Name: q.Get("name"), Type: q.Get("type"), SetID: q.Get("set_id")}
	if limit, err = limitParam(q.Get("limit")); err != nil {
		return f, after, 0, err
	}
	if c := q.Get("cursor"); c != "" {
		after, err = decodeCursor(c)
	}
	return f, after, limit, err
}

func limitParam(v string) (int, error) {
	if v == "" {
		return DefaultPageLimit, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > MaxPageLimit {
		return 0, record.Errorf("limit", "%q is not a page size; allowed: 1..%d (default %d)", v, MaxPageLimit, DefaultPageLimit)
	}
	return n, nil
}

// A cursor is the key of the last set of a page (name, type, set id),
// opaque to clients.
func encodeCursor(k record.Key) string {
	return base64.RawURLEncoding.EncodeToString([]byte(k.Name + "\x00" + string(k.Type) + "\x00" + k.SetID))
}

func decodeCursor(c string) (record.Key, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	parts := strings.Split(string(b), "\x00")
	if err != nil || len(parts) != 3 || parts[0] == "" || parts[1] == "" {
		return record.Key{}, record.Errorf("cursor", "is not a cursor of this API; pass the \"next\" of the previous page as it is")
	}
	return record.Key{Name: parts[0], Type: record.Type(parts[1]), SetID: parts[2]}, nil
}

// forceParam reads ?force= of DELETE /v1/zones/{zone}.
func forceParam(r *http.Request) (bool, error) {
	q := r.URL.Query()
	for k := range q {
		if k != "force" {
			return false, record.Errorf(k, "is not a known parameter; allowed: force")
		}
	}
	v := q.Get("force")
	if v == "" {
		return false, nil
	}
	force, err := strconv.ParseBool(v)
	if err != nil {
		return false, record.Errorf("force", "%q is not a boolean; allowed: true, false", v)
	}
	return force, nil
}
