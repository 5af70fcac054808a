package cli_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/dnslb/dnslb/internal/api/client"
)

// healthBackend is a real HTTP health endpoint on its own loopback address.
type healthBackend struct {
	srv     *httptest.Server
	healthy atomic.Bool
}

func newHealthBackend(t *testing.T, ip string) *healthBackend {
	t.Helper()
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	b := &healthBackend{}
	b.healthy.Store(true)
	b.srv = &httptest.Server{Listener: ln, Config: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if !b.healthy.Load() {
			http.Error(w, "sick", http.StatusServiceUnavailable)
		}
	})}}
	b.srv.Start()
	t.Cleanup(b.srv.Close)
	return b
}

// eventually polls cond until it holds, failing after timeout. It is for
// end-to-end tests against a subprocess, which offers nothing to wait on.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

func (s *server) views(t *testing.T, args ...string) map[string]client.SetView {
	t.Helper()
	var views []client.SetView
	out := s.run(t, append([]string{"record", "ls", "lb.test", "--json"}, args...)...)
	if err := json.Unmarshal([]byte(out), &views); err != nil {
		t.Fatalf("record ls --json: %v\n%s", err, out)
	}
	m := map[string]client.SetView{}
	for _, v := range views {
		m[v.SetID] = v
	}
	return m
}

// answers returns the distinct addresses in n answers for www.lb.test.
func (s *server) answers(t *testing.T, n int) map[string]int {
	t.Helper()
	got := map[string]int{}
	for range n {
		for _, rr := range s.query(t, "www.lb.test.", dns.TypeA, "udp").Answer {
			got[rr.(*dns.A).A.String()]++
		}
	}
	return got
}

func TestLivenessEndToEnd(t *testing.T) {
	s := startServer(t, "127.0.0.14", t.TempDir(), "--zone", "lb.test", "--metrics-per-set")
	b := newHealthBackend(t, "127.0.0.15")
	s.run(t, "record", "set", "lb.test", "www", "A", "--set-id", "a", "--weight", "10", "--ttl", "1", "--value", "127.0.0.15",
		"--check", b.srv.URL+"/health", "--check-interval", "100ms", "--check-timeout", "50ms", "--rise", "1", "--fall", "1")
	s.run(t, "record", "set", "lb.test", "www", "A", "--set-id", "b", "--weight", "10", "--ttl", "1", "--value", "127.0.0.16")

	// A failing backend leaves answers; the operator can force it back.
	b.healthy.Store(false)
	eventually(t, 20*time.Second, "a to go down", func() bool { return strings.HasPrefix(s.views(t)["a"].Status.Health, "down") })
	if got := s.answers(t, 50); got["127.0.0.15"] != 0 || got["127.0.0.16"] != 50 {
		t.Errorf("answers with a down: %v", got)
	}
	s.run(t, "record", "health", "lb.test", "www", "A", "--set-id", "a", "--force", "up")
	if got := s.answers(t, 200); got["127.0.0.15"] == 0 {
		t.Errorf("forced up, a gets no answers: %v", got)
	}
	s.run(t, "record", "health", "lb.test", "www", "A", "--set-id", "a", "--force", "auto")
	b.healthy.Store(true)
	eventually(t, 20*time.Second, "a to come back", func() bool { return s.views(t)["a"].Status.Health == "up" })

	// Drain b after it was served: --wait returns once last served + TTL
	// has passed, and b is gone.
	s.answers(t, 20)
	if v := s.views(t)["b"]; v.Status.LastServed == nil || v.Status.Served == 0 {
		t.Fatalf("b was served but its status says %+v", v.Status)
	}
	out := s.run(t, "record", "drain", "lb.test", "www", "A", "--set-id", "b", "--wait", "--margin", "0s", "--poll", "100ms")
	if !strings.Contains(out, "last served") || !strings.Contains(out, "drained") {
		t.Errorf("drain --wait printed:\n%s", out)
	}
	if _, ok := s.views(t)["b"]; ok {
		t.Error("b still listed after its drain")
	}
	if got := s.answers(t, 20); got["127.0.0.16"] != 0 {
		t.Errorf("drained b still answered: %v", got)
	}

	// The last set leaves: the name answers NODATA with the short negative TTL.
	s.run(t, "record", "drain", "lb.test", "www", "A", "--set-id", "a", "--wait", "--margin", "0s", "--poll", "100ms")
	r := s.query(t, "www.lb.test.", dns.TypeA, "udp")
	if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 0 || len(r.Ns) != 1 || r.Ns[0].Header().Ttl != 5 {
		t.Errorf("after the last set left: %s", r)
	}

	// A lease that is not renewed takes its set out of answers.
	s.run(t, "record", "set", "lb.test", "www", "A", "--set-id", "c", "--weight", "10", "--ttl", "1", "--value", "127.0.0.17", "--lease", "1s")
	if got := s.answers(t, 5); got["127.0.0.17"] != 5 {
		t.Fatalf("registered c: %v", got)
	}
	eventually(t, 20*time.Second, "c's lease to lapse", func() bool { return s.views(t)["c"].State == "expired" })
	if r := s.query(t, "www.lb.test.", dns.TypeA, "udp"); len(r.Answer) != 0 {
		t.Errorf("expired c still answered: %v", r.Answer)
	}
	s.run(t, "record", "renew", "lb.test", "www", "A", "--set-id", "c")
	if got := s.answers(t, 5); got["127.0.0.17"] != 5 {
		t.Errorf("renewed c: %v", got)
	}
	table := s.run(t, "record", "ls", "lb.test")
	for _, want := range []string{"HEALTH", "LEASE", "LAST-SERVED", "active"} {
		if !strings.Contains(table, want) {
			t.Errorf("record ls lacks %q:\n%s", want, table)
		}
	}
	checkMetrics(t, s)
	s.stop(t)
}

// scrape returns s's /metrics.
func scrape(t *testing.T, s *server) []byte {
	t.Helper()
	resp, err := http.Get("http://" + s.api + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// checkMetrics scrapes /metrics, lints it and looks for the metrics the
// lifecycle must have produced.
func checkMetrics(t *testing.T, s *server) {
	t.Helper()
	body := scrape(t, s)
	problems, err := promlint.New(bytes.NewReader(body)).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, "dnslb_") {
			t.Errorf("promlint: %s: %s", p.Metric, p.Text)
		}
	}
	for _, want := range []string{
		`dnslb_dns_queries_total{proto="udp",qtype="A",rcode="NOERROR"}`,
		`dnslb_dns_answers_total{name="www.lb.test.",set_id="c",type="A",zone="lb.test."}`,
		`dnslb_dns_name_answers_total{name="www.lb.test.",type="A",zone="lb.test."}`,
		`dnslb_health_transitions_total{status="down"} 1`,
		`dnslb_lease_expiries_total 1`,
		`dnslb_drains_completed_total 2`,
		`dnslb_drains_in_progress 0`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestLameduck(t *testing.T) {
	s := startServer(t, "127.0.0.18", t.TempDir(), "--demo", "--lameduck", "60s")
	get := func() int {
		resp, err := http.Get("http://" + s.api + "/readyz")
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get(); code != http.StatusOK {
		t.Fatalf("/readyz before shutdown: %d", code)
	}
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "/readyz to fail in lameduck", func() bool { return get() == http.StatusServiceUnavailable })
	if r := s.query(t, "www.lb.test.", dns.TypeA, "udp"); len(r.Answer) != 1 {
		t.Errorf("DNS during lameduck: %v", r)
	}
}
