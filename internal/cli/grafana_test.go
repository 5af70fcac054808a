package cli_test

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

const grafanaDashboard = "deploy/grafana/dnslb.json"

// dashboard is the part of a Grafana dashboard the test reads.
type dashboard struct {
	Title         string  `json:"title"`
	UID           string  `json:"uid"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []struct {
			Name  string `json:"name"`
			Type  string `json:"type"`
			Query any    `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID      int    `json:"id"`
	Type    string `json:"type"`
	Title   string `json:"title"`
	GridPos *struct {
		H, W, X, Y int
	} `json:"gridPos"`
	Targets []struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	} `json:"targets"`
}

// metricName matches the metric names a PromQL expression can use from
// dnslb serve's /metrics.
var metricName = regexp.MustCompile(`\b(?:dnslb|go|process)_[a-z0-9_]+\b`)

// dashboardMetrics parses the shipped dashboard, checks its shape and
// returns the metric names its queries use, with a panel naming each.
func dashboardMetrics(t *testing.T) map[string]string {
	t.Helper()
	var d dashboard
	if err := json.Unmarshal([]byte(repoFile(t, grafanaDashboard)), &d); err != nil {
		t.Fatalf("%s: %v", grafanaDashboard, err)
	}
	if d.Title == "" || d.UID == "" || d.SchemaVersion == 0 {
		t.Errorf("dashboard lacks title, uid or schemaVersion: %q %q %d", d.Title, d.UID, d.SchemaVersion)
	}
	used := map[string]string{}
	ids := map[int]bool{}
	queries := 0
	for _, p := range d.Panels {
		if p.ID == 0 || ids[p.ID] || p.Type == "" || p.Title == "" || p.GridPos == nil || p.GridPos.W == 0 || p.GridPos.H == 0 {
			t.Errorf("panel %d %q: needs a unique id, a type, a title and a size", p.ID, p.Title)
		}
		ids[p.ID] = true
		if p.Type == "row" {
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no targets", p.Title)
		}
		for _, tg := range p.Targets {
			names := metricName.FindAllString(tg.Expr, -1)
			if tg.RefID == "" || len(names) == 0 || !balanced(tg.Expr) {
				t.Errorf("panel %q: target %q has no refId, names no metric or has unbalanced brackets", p.Title, tg.Expr)
			}
			for _, n := range names {
				used[n] = p.Title
			}
			queries++
		}
	}
	for _, v := range d.Templating.List {
		b, _ := json.Marshal(v.Query)
		for _, n := range metricName.FindAllString(string(b), -1) {
			used[n] = "variable " + v.Name
		}
	}
	if queries == 0 {
		t.Fatal("the dashboard has no queries")
	}
	return used
}

// scrapedFamilies returns the metric families in a /metrics scrape (those
// with at least one series: a labelled family no code path has touched has
// no # TYPE line).
func scrapedFamilies(body []byte) map[string]bool {
	fams := map[string]bool{}
	for _, line := range strings.Split(string(body), "\n") {
		if rest, ok := strings.CutPrefix(line, "# TYPE "); ok {
			fams[strings.Fields(rest)[0]] = true
		}
	}
	return fams
}

// TestGrafanaDashboardMetricsExist: the shipped dashboard is Grafana
// dashboard JSON, every metric its queries name is in a real server's
// /metrics, and it shows every dnslb metric there. The server first does
// what creates the labelled families: with --demo and --metrics-per-set a
// query for the weighted name makes the per-name and per-set answer
// series, a failing health check a health transition.
func TestGrafanaDashboardMetricsExist(t *testing.T) {
	used := dashboardMetrics(t)
	s := startServer(t, "127.0.0.62", t.TempDir(), "--demo", "--metrics-per-set")
	if r := s.query(t, "www.lb.test.", dns.TypeA, "udp"); r.Rcode != dns.RcodeSuccess || len(r.Answer) == 0 {
		t.Fatalf("www.lb.test A: %v", r)
	}
	ln, err := net.Listen("tcp", "127.0.0.63:0")
	if err != nil {
		t.Fatal(err)
	}
	backend := &httptest.Server{Listener: ln, Config: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	})}}
	backend.Start()
	defer backend.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	s.run(t, "record", "set", "lb.test", "own", "A", "--value", "127.0.0.63", "--check", "http://:"+port+"/health",
		"--check-interval", "100ms", "--fall", "1")
	var fams map[string]bool
	eventually(t, 10*time.Second, "a health transition on /metrics", func() bool {
		fams = scrapedFamilies(scrape(t, s))
		return fams["dnslb_health_transitions_total"]
	})
	var missing []string
	for name, where := range used {
		if !fams[name] {
			missing = append(missing, name+" (in "+where+")")
		}
	}
	for name := range fams {
		if _, ok := used[name]; strings.HasPrefix(name, "dnslb_") && !ok {
			missing = append(missing, name+" is on /metrics but not on the dashboard")
		}
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Error(m)
	}
	s.stop(t)
}

// balanced reports whether the brackets of a PromQL expression pair up
// (no PromQL parser is among the dependencies; Grafana's would say more).
func balanced(expr string) bool {
	var open []rune
	pairs := map[rune]rune{')': '(', ']': '[', '}': '{'}
	inString := false
	for _, r := range expr {
		switch {
		case r == '"':
			inString = !inString
		case inString:
		case r == '(' || r == '[' || r == '{':
			open = append(open, r)
		case pairs[r] != 0:
			if len(open) == 0 || open[len(open)-1] != pairs[r] {
				return false
			}
			open = open[:len(open)-1]
		}
	}
	return len(open) == 0 && !inString
}
