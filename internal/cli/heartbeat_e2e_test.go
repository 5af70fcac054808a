package cli_test

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// heartbeats reads dnslb_heartbeats_total{result} from s's /metrics.
func heartbeats(t *testing.T, s *server, result string) int {
	t.Helper()
	m := regexp.MustCompile(`(?m)^dnslb_heartbeats_total\{result="` + result + `"\} (\d+)$`).FindSubmatch(scrape(t, s))
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// sendsTo reports whether the agent logged that it sends heartbeats to addr.
// heartbeatAddr is the heartbeat socket s logged when it started serving.
func heartbeatAddr(t *testing.T, s *server) string {
	t.Helper()
	m := regexp.MustCompile(`msg="dnslb serving" .*heartbeat=(\S+)`).FindStringSubmatch(s.stderr.String())
	if m == nil {
		t.Fatalf("no heartbeat address in the serving line:\n%s", s.stderr)
	}
	return m[1]
}

func sendsTo(a *agentProc, addr string) bool {
	return regexp.MustCompile(`msg="renewing by UDP heartbeat".* to=` + regexp.QuoteMeta(addr) + `\b`).MatchString(a.out.String())
}

// TestAgentRenewsByHeartbeat: the agent renews over UDP once an HTTP
// renewal offered a key; a restarted server verifies the agent's next
// heartbeat with the key from the store but has no counter floor for it,
// so it answers "renew over HTTP", and the agent does, then beats again,
// without its set lapsing; with heartbeats off it renews over HTTP only.
func TestAgentRenewsByHeartbeat(t *testing.T) {
	waitBound(t)
	if testing.Short() {
		t.Skip("end-to-end agent test")
	}
	const ip, inst = "127.0.0.32", "127.0.0.33"
	data := t.TempDir()
	s := startServer(t, ip, data, "--zone", "lb.test")
	dnsAddr, apiAddr := s.dns, s.api
	if !strings.Contains(s.stderr.String(), "heartbeat=dns") {
		t.Fatalf("server does not take heartbeats on the DNS port:\n%s", s.stderr)
	}
	a := startAgent(t, nil, "--server", "http://"+apiAddr, "--zone", "lb.test", "--name", "www",
		"--identity", "static", "--set-id", "i-1", "--address", inst, "--ttl", "1", "--lease", "3s")
	eventually(t, 30*time.Second, "agent registered", func() bool { return s.answers(t, 1)[inst] == 1 })
	// Renewals every ~1 s: within 10 s, several heartbeats, and the lease
	// (3 s) holds throughout.
	eventually(t, 10*time.Second, "3 heartbeats", func() bool { return heartbeats(t, s, "ok") >= 3 })
	if !sendsTo(a, dnsAddr) {
		t.Errorf("agent log does not say it sends heartbeats to the DNS port %s:\n%s", dnsAddr, a.out)
	}
	if v := s.views(t)["i-1"]; v.State != "active" {
		t.Fatalf("set after heartbeats: %+v", v)
	}

	// Restart: the new server verifies the heartbeat (the key is in the
	// store) and asks for an HTTP renewal first; then heartbeats work.
	s.kill(t)
	s = startServerAt(t, dnsAddr, apiAddr, data, "--zone", "lb.test", "--restart-grace", "0s")
	restarted := time.Now()
	eventually(t, 10*time.Second, "verified, HTTP renewal asked", func() bool { return heartbeats(t, s, "renew_http") >= 1 })
	eventually(t, 10*time.Second, "heartbeats again", func() bool { return heartbeats(t, s, "ok") >= 2 })
	if !strings.Contains(a.out.String(), "heartbeat refused; renewing over HTTP") {
		t.Errorf("agent log does not show the fallback:\n%s", a.out)
	}
	for _, r := range []string{"bad_mac", "replay", "unknown_token"} {
		if n := heartbeats(t, s, r); n != 0 {
			t.Errorf("%d heartbeats of the agent counted %s", n, r)
		}
	}
	// Without a restart grace, the set is alive a lease (3 s) after the
	// restart only if the renewals worked.
	time.Sleep(time.Until(restarted.Add(4 * time.Second)))
	if v := s.views(t)["i-1"]; v.State != "active" || s.answers(t, 1)[inst] != 1 {
		t.Fatalf("set after the restart: %+v", v)
	}
	a.cmd.Process.Kill()
	a.waitExit(t, 10*time.Second)
	s.stop(t)

	// Heartbeats on a socket of their own.
	s = startServer(t, ip, t.TempDir(), "--zone", "lb.test", "--heartbeat", ip+":0", "--restart-grace", "0s")
	hbAddr := heartbeatAddr(t, s)
	a = startAgent(t, nil, "--server", "http://"+s.api, "--zone", "lb.test", "--name", "www",
		"--identity", "static", "--set-id", "i-3", "--address", inst, "--ttl", "1", "--lease", "3s")
	eventually(t, 30*time.Second, "agent registered", func() bool { return s.answers(t, 1)[inst] == 1 })
	eventually(t, 10*time.Second, "3 heartbeats", func() bool { return heartbeats(t, s, "ok") >= 3 })
	if !sendsTo(a, hbAddr) {
		t.Errorf("agent log does not say it sends heartbeats to %s:\n%s", hbAddr, a.out)
	}
	a.cmd.Process.Kill()
	a.waitExit(t, 10*time.Second)
	s.stop(t)

	// Heartbeats off: renewals over HTTP keep the lease.
	s = startServer(t, ip, t.TempDir(), "--zone", "lb.test", "--heartbeat", "off", "--restart-grace", "0s")
	a = startAgent(t, nil, "--server", "http://"+s.api, "--zone", "lb.test", "--name", "www",
		"--identity", "static", "--set-id", "i-2", "--address", inst, "--ttl", "1", "--lease", "3s")
	eventually(t, 30*time.Second, "agent registered", func() bool { return s.answers(t, 1)[inst] == 1 })
	time.Sleep(7 * time.Second) // two leases
	if v := s.views(t)["i-2"]; v.State != "active" || s.answers(t, 1)[inst] != 1 {
		t.Fatalf("set renewed over HTTP only, after two leases: %+v", v)
	}
	if strings.Contains(a.out.String(), "heartbeat") || heartbeats(t, s, "ok") != 0 {
		t.Errorf("heartbeats with --heartbeat off:\n%s", a.out)
	}
}
