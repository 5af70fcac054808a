package api

import (
	"compress/gzip"
	"embed"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"strconv"
	"strings"

	"github.com/dnslb/dnslb/internal/api/client"
	"github.com/dnslb/dnslb/internal/record"
)

// The status page: GET / serves a page embedded in the binary (ui/), which
// polls GET /v1/status for the names it shows. The page and its assets
// hold no data and are public; /v1/status is a read like any other, so
// with tokens configured the page asks for one, keeps it in the tab's
// sessionStorage and sends it as Authorization (never in a URL).

//go:embed ui
var uiFiles embed.FS

// Names per page of GET /v1/status.
const (
	DefaultStatusPerPage = 20
	MaxStatusPerPage     = 200
)

// uiRoutes adds the status page, its data and explain and history. The
// page and its assets are public (no token: they hold no data), so they
// bypass authorized; the Host and Origin checks of ServeHTTP still apply.
func (s *Server) uiRoutes(routes map[string]http.HandlerFunc) {
	assets, _ := fs.Sub(uiFiles, "ui")
	files := http.FileServerFS(assets)
	s.mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeFileFS(w, r, assets, "index.html")
	})
	s.mux.HandleFunc("GET /ui/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		http.StripPrefix("/ui/", files).ServeHTTP(w, r)
	})
	routes["GET /v1/status"] = s.statusPage
	routes["GET /v1/explain"] = s.explain
	routes["GET /v1/zones/{zone}/history"] = s.history
}

// statusPage answers a page of names with their sets, compact.
func (s *Server) statusPage(w http.ResponseWriter, r *http.Request) {
	q, err := statusParams(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	page, err := s.buildStatus(r, q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Add("Vary", "Accept-Encoding")
	out := io.Writer(w)
	if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") { // a page polls this every second
		w.Header().Set("Content-Encoding", "gzip")
		gz := gzip.NewWriter(w)
		defer gz.Close()
		out = gz
	}
	_ = json.NewEncoder(out).Encode(page) // the client has gone if this fails
}

// statusParams reads ?zone=&q=&page=&per_page=&chart=.
func statusParams(r *http.Request) (client.StatusQuery, error) {
	if err := onlyParams(r, "zone", "q", "page", "per_page", "chart"); err != nil {
		return client.StatusQuery{}, err
	}
	v := r.URL.Query()
	q := client.StatusQuery{Zone: v.Get("zone"), Name: v.Get("q"), Page: 1, PerPage: DefaultStatusPerPage, Chart: v.Get("chart") != "false"}
	if p := v.Get("page"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 {
			return q, record.Errorf("page", "%q is not a page number; allowed: 1 and up", p)
		}
		q.Page = n
	}
	if p := v.Get("per_page"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > MaxStatusPerPage {
			return q, record.Errorf("per_page", "%q is not a page size; allowed: 1..%d (default %d)", p, MaxStatusPerPage, DefaultStatusPerPage)
		}
		q.PerPage = n
	}
	if c := v.Get("chart"); c != "" && c != "true" && c != "false" {
		return q, record.Errorf("chart", "%q is not a boolean; allowed: true, false", c)
	}
	return q, nil
}
