//go:build unix

package cli_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/dnslb/dnslb/internal/etcdtest"
)

// etcdStore is the --store flag of a cluster.
func etcdStore(eps []string) string {
	var hosts []string
	for _, ep := range eps {
		u, _ := url.Parse(ep)
		hosts = append(hosts, u.Host)
	}
	return "etcd://" + strings.Join(hosts, ",")
}

// ready returns /readyz's status code and reason.
func (s *server) ready(t *testing.T) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + s.api + "/readyz")
	if err != nil {
		t.Fatalf("readyz: %v", err)
	}
	defer resp.Body.Close()
	var body struct{ Status, Reason string }
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body.Status + ": " + body.Reason
}

// answersWith reports whether www.lb.test answers addr.
func (s *server) answersWith(t *testing.T, addr string) bool {
	t.Helper()
	r := s.query(t, "www.lb.test.", dns.TypeA, "udp")
	for _, rr := range r.Answer {
		if a, ok := rr.(*dns.A); ok && a.A.String() == addr {
			return true
		}
	}
	return false
}

// until polls ok every 50 ms (no event tells when etcd's absence is
// noticed; that delay is what the test measures) and returns how long it
// took, failing after limit.
func until(t *testing.T, what string, limit time.Duration, ok func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !ok() {
		if time.Since(start) > limit {
			t.Fatalf("%s: not within %v", what, limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Since(start).Round(10 * time.Millisecond)
}

// TestEtcdFailStatic runs dnslb serve on a real etcd (Debian's, as a
// process) and freezes etcd (SIGSTOP), then kills it: the server keeps
// answering from its last state, no leased set expires although nobody
// renews it, /readyz says not ready with the reason, writes are refused
// with 503 and a message naming etcd; when etcd is back, writes work
// without a restart. The timeline is logged.
func TestEtcdFailStatic(t *testing.T) {
	waitBound(t)
	pc := etcdtest.StartProcesses(t, 1)
	s := startServer(t, "127.0.0.31", t.TempDir(), "--zone", "lb.test", "--store", etcdStore(pc.Endpoints()))
	s.run(t, "record", "set", "lb.test", "www", "A", "--set-id", "i-a", "--weight", "10", "--ttl", "5", "--value", "127.0.1.1", "--lease", "3s")
	if !s.answersWith(t, "127.0.1.1") {
		t.Fatal("the leased set is not answered")
	}
	write := func(id string) (int, string) {
		_, errOut, code := s.try("record", "set", "lb.test", "other", "A", "--set-id", id, "--weight", "10", "--ttl", "5", "--value", "127.0.1.2")
		return code, errOut
	}
	for _, outage := range []struct {
		name      string
		stop, end func()
	}{
		{"SIGSTOP", func() { pc.Members[0].Signal(syscall.SIGSTOP) }, func() { pc.Members[0].Signal(syscall.SIGCONT) }},
		{"SIGKILL", func() { pc.Members[0].Kill() }, func() {
			if err := pc.Members[0].Restart(); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		s.run(t, "record", "renew", "lb.test", "www", "A", "--set-id", "i-a")
		stopped := time.Now()
		outage.stop()
		notReady := until(t, outage.name+": readiness false", 30*time.Second, func() bool { c, _ := s.ready(t); return c == 503 })
		var msg string
		refused := until(t, outage.name+": writes refused", 30*time.Second, func() bool {
			code, out := write("i-refused")
			msg = out
			return code != 0 && strings.Contains(out, "unreachable since") && strings.HasSuffix(strings.TrimSpace(out), "(unavailable)")
		})
		refused = time.Since(stopped).Round(10 * time.Millisecond)
		_, reason := s.ready(t)
		start := time.Now()
		for time.Since(start) < 8*time.Second { // more than twice the lease, nobody renewing
			if !s.answersWith(t, "127.0.1.1") {
				t.Fatalf("%s: the leased set left answers %v into the outage (readiness false after %v, writes refused after %v):\n%s", outage.name, time.Since(start), notReady, refused, s.stderr)
			}
			time.Sleep(100 * time.Millisecond)
		}
		outage.end()
		t.Logf("%s: etcd back after %v", outage.name, time.Since(stopped).Round(10*time.Millisecond))
		recovered := until(t, outage.name+": writes work again", 60*time.Second, func() bool { code, _ := write("i-" + strings.ToLower(outage.name)); return code == 0 })
		readyAgain := until(t, outage.name+": ready again", 30*time.Second, func() bool { c, _ := s.ready(t); return c == 200 })
		t.Logf("%s timeline from the stop: readiness false after %v (%s); writes refused (503) by %v (%s); answers and the unrenewed 3s lease kept for 8s; after etcd came back, writes worked after %v and ready after %v more",
			outage.name, notReady, reason, refused, strings.TrimSpace(msg), recovered, readyAgain)
		if !s.answersWith(t, "127.0.1.1") {
			t.Errorf("%s: the leased set left answers when etcd came back", outage.name)
		}
		if out := s.run(t, "record", "ls", "lb.test"); strings.Contains(out, "i-refused") {
			t.Errorf("%s: a refused write was stored:\n%s", outage.name, out)
		}
	}
}

var waitingLine = regexp.MustCompile(`msg="waiting for etcd: [^"]*" (endpoints)=\[(\S+)\]`)

// TestServeWaitsForEtcd: started while etcd is down, serve says which
// endpoints it waits for and what to check, answers no DNS query (never
// NXDOMAIN from an empty state), and starts serving once etcd is up,
// loading what etcd holds. The etcd password is never logged.
func TestServeWaitsForEtcd(t *testing.T) {
	waitBound(t)
	const secret = "s3cret-never-logged"
	pc := etcdtest.StartProcesses(t, 1)
	pc.Members[0].Kill()
	cmd := exec.Command(os.Args[0], "serve", "--dns", "127.0.0.32:0", "--api", "127.0.0.32:0", "--data", t.TempDir(),
		"--zone", "lb.test", "--store", etcdStore(pc.Endpoints()), "--etcd-prefix", "/wait/", "--etcd-user", "root")
	cmd.Env = append(os.Environ(), "DNSLB_TEST_MAIN=1", "DNSLB_ETCD_PASSWORD="+secret)
	s, err := launch(t, cmd, waitingLine)
	if err != nil {
		t.Fatalf("%v:\n%s", err, s.stderr)
	}
	if want := pc.Endpoints()[0]; s.api != want {
		t.Errorf("waiting line names %s, want the endpoint %s", s.api, want)
	}
	if err := pc.Members[0].Restart(); err != nil {
		t.Fatal(err)
	}
	var m []string
	until(t, "serving after etcd came up", 60*time.Second, func() bool {
		m = servingLine.FindStringSubmatch(s.stderr.String())
		return m != nil
	})
	s.dns, s.api = m[1], m[2]
	if r := s.query(t, "lb.test.", dns.TypeSOA, "udp"); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
		t.Errorf("SOA of lb.test after etcd came up: %v", r)
	}
	if strings.Contains(s.stderr.String(), secret) {
		t.Errorf("the etcd password was logged:\n%s", s.stderr)
	}
}
