package cli_test

import (
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

var jsonServingLine = regexp.MustCompile(`"msg":"dnslb serving","dns":"([^"]+)","api":"([^"]+)"`)

// startJSONServer runs `dnslb serve --log-format json` on ip.
func startJSONServer(t *testing.T, ip, data string, args ...string) *server {
	t.Helper()
	args = append([]string{"serve", "--dns", ip + ":0", "--api", ip + ":0", "--data", data, "--log-format", "json", "--check-allow", "127.0.0.0/8"}, args...)
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "DNSLB_TEST_MAIN=1")
	s, err := launch(t, cmd, jsonServingLine)
	if err != nil {
		t.Fatalf("%v:\n%s", err, s.stderr)
	}
	return s
}

// TestServerLogs: every line is one JSON object without duplicate keys or
// null values, durations are text, a health transition is one line, and
// every API write leaves one audit line naming what it wrote, the revision
// and who sent it.
func TestServerLogs(t *testing.T) {
	s := startJSONServer(t, "127.0.0.65", t.TempDir(), "--demo", "--lameduck", "50ms")
	s.run(t, "zone", "create", "other.test")
	s.run(t, "record", "set", "lb.test", "chk", "A", "--value", "127.0.0.65", "--check", "tcp://127.0.0.65:1",
		"--check-interval", "100ms", "--fall", "1")
	ln, err := net.Listen("tcp", "127.0.0.65:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	s.run(t, "record", "set", "lb.test", "up", "A", "--value", "127.0.0.65", "--check", "tcp://"+ln.Addr().String(),
		"--check-interval", "100ms", "--rise", "1", "--start-unhealthy")
	eventually(t, 20*time.Second, "chk to go down and up to go up", func() bool {
		return strings.HasPrefix(s.views(t, "chk")[""].Status.Health, "down") && s.views(t, "up")[""].Status.Health == "up"
	})
	s.run(t, "record", "set", "lb.test", "www", "A", "--set-id", "x", "--weight", "10", "--ttl", "60", "--value", "127.0.1.9")
	s.run(t, "record", "rm", "lb.test", "chk", "A")
	s.stop(t)

	var audits, healthLines []map[string]any
	for i, line := range strings.Split(strings.TrimSpace(s.stderr.String()), "\n") {
		rec := decodeLogLine(t, i+1, line)
		switch msg, _ := rec["msg"].(string); {
		case msg == "api write":
			audits = append(audits, rec)
		case strings.Contains(msg, "health") && (rec["set"] == "chk.lb.test. A" || rec["set"] == "up.lb.test. A"):
			healthLines = append(healthLines, rec)
		case msg == "shutting down" && rec["lameduck"] != "50ms":
			t.Errorf("line %d: lameduck %v, want the text 50ms", i+1, rec["lameduck"])
		}
	}
	if len(healthLines) != 2 {
		t.Errorf("%d log lines for two health transitions (chk down, up up), want 2: %v", len(healthLines), healthLines)
	}
	want := []struct{ method, path, zone, set string }{
		{"POST", "/v1/zones", "other.test.", ""},
		{"PUT", "/v1/zones/lb.test/rrsets", "lb.test.", "chk.lb.test. A"},
		{"PUT", "/v1/zones/lb.test/rrsets", "lb.test.", "up.lb.test. A"},
		{"PUT", "/v1/zones/lb.test/rrsets", "lb.test.", "www.lb.test. A set x"},
		{"DELETE", "/v1/zones/lb.test/rrsets/chk/A", "lb.test.", "chk.lb.test. A"},
	}
	if len(audits) != len(want) {
		t.Fatalf("%d audit lines for %d writes: %v", len(audits), len(want), audits)
	}
	for i, w := range want {
		a := audits[i]
		rev, _ := a["revision"].(float64)
		remote, _ := a["remote"].(string)
		if a["method"] != w.method || a["path"] != w.path || a["zone"] != w.zone || (w.set != "" && a["set"] != w.set) ||
			rev < 1 || (a["status"] != float64(200) && a["status"] != float64(201)) || !strings.HasPrefix(remote, "127.0.0.1:") {
			t.Errorf("audit line %d: %v; want %s %s zone %s set %q, a revision and the remote address", i, a, w.method, w.path, w.zone, w.set)
		}
	}
}

// decodeLogLine decodes one JSON log line, failing on a duplicate key or
// a null value.
func decodeLogLine(t *testing.T, n int, line string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(line))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("line %d is not a JSON object: %s", n, line)
	}
	rec := map[string]any{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("line %d: %v: %s", n, err, line)
		}
		key := tok.(string)
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("line %d: %v: %s", n, err, line)
		}
		if _, dup := rec[key]; dup {
			t.Errorf("line %d has key %q twice: %s", n, key, line)
		}
		if v == nil {
			t.Errorf("line %d has %s=null: %s", n, key, line)
		}
		rec[key] = v
	}
	return rec
}

// TestDrainCountdownEvery10s: `record drain --wait` prints its countdown
// at most every 10 seconds, and still ends at safe_at.
func TestDrainCountdownEvery10s(t *testing.T) {
	s := startServer(t, "127.0.0.66", t.TempDir(), "--zone", "lb.test")
	s.run(t, "record", "set", "lb.test", "www", "A", "--set-id", "a", "--weight", "10", "--ttl", "3", "--value", "127.0.1.1")
	s.run(t, "record", "set", "lb.test", "www", "A", "--set-id", "b", "--weight", "10", "--ttl", "3", "--value", "127.0.1.2")
	for range 20 {
		s.query(t, "www.lb.test.", 1, "udp")
	}
	start := time.Now()
	out := s.run(t, "record", "drain", "lb.test", "www", "A", "--set-id", "a", "--wait", "--margin", "0s")
	took := time.Since(start)
	if n := strings.Count(out, "waiting: "); n > 1 {
		t.Errorf("%d countdown lines in %s, want at most one every 10s:\n%s", n, took.Round(time.Millisecond), out)
	}
	if !strings.Contains(out, "drained: the set is removed") || took > 6*time.Second {
		t.Errorf("drain of a 3s TTL took %s:\n%s", took, out)
	}
}

// TestAgentDrainCountdownEvery10s: the agent logs its drain countdown at
// most every 10 seconds and still leaves at safe_at.
func TestAgentDrainCountdownEvery10s(t *testing.T) {
	s := startServer(t, "127.0.0.67", t.TempDir(), "--zone", "lb.test")
	a := startAgent(t, nil, "--server", "http://"+s.api, "--zone", "lb.test", "--name", "www", "--identity", "static",
		"--set-id", "c1", "--address", "127.0.0.68", "--ttl", "3", "--lease", "3s", "--drain-margin", "0s", "--renew", "http")
	eventually(t, 30*time.Second, "the agent to register", func() bool { return len(s.answers(t, 5)) == 1 })
	start := time.Now()
	if err := a.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	a.waitExit(t, 20*time.Second)
	took := time.Since(start)
	if n := strings.Count(a.out.String(), "msg=draining "); n > 1 {
		t.Errorf("%d countdown lines in %s, want at most one every 10s:\n%s", n, took.Round(time.Millisecond), a.out)
	}
	if took > 6*time.Second {
		t.Errorf("the agent took %s to drain a 3s TTL:\n%s", took, a.out)
	}
}
