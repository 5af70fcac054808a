package cli_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/dnslb/dnslb/internal/api/client"
)

// TestCLIMessagesWhole pins what a person sees when a command is refused:
// the object named once, flags rather than API fields, and what to do.
func TestCLIMessagesWhole(t *testing.T) {
	s := startServer(t, "127.0.0.61", t.TempDir(), "--demo")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"record", "ls", "nozone.test"}, "dnslb: zone nozone.test.: not found (not_found)\n"},
		{[]string{"zone", "rm", "nozone.test"}, "dnslb: zone nozone.test.: not found (not_found)\n"},
		{[]string{"record", "drain", "lb.test", "www", "A"},
			"dnslb: --set-id is required: www.lb.test. A has 3 weighted sets (demo-1, demo-2, demo-3); name one (invalid_argument)\n"},
		{[]string{"record", "drain", "lb.test", "www", "A", "--set-id", "nope"},
			"dnslb: record set www.lb.test. A set nope: not found (not_found)\n"},
		{[]string{"record", "set", "lb.test", "www", "A", "--set-id", "demo-1", "--weight", "300", "--ttl", "60", "--value", "127.0.1.1"},
			"dnslb: --weight: 300 is out of range; allowed 0..255 (invalid_argument)\n"},
		{[]string{"record", "set", "lb.test", "x", "A", "--value", "127.0.0.1", "--check", "tcp://127.0.0.61:1", "--check-interval", "50ms"},
			"dnslb: --check-interval: 50ms is out of range; allowed 100ms..1h0m0s (invalid_argument)\n"},
		{[]string{"record", "set", "lb.test", "x", "A", "--value", "127.0.0.1", "--lease", "500ms"},
			"dnslb: --lease: 500ms is out of range; allowed 0 (no lease) or 1s..24h0m0s (invalid_argument)\n"},
	} {
		out, errOut, code := s.try(tc.args...)
		if code != 1 || errOut != tc.want || out != "" {
			t.Errorf("%v: exit %d, stderr %q, stdout %q\nwant exit 1, stderr %q", tc.args, code, errOut, out, tc.want)
		}
	}
	// A short check interval alone is enough: the timeout follows it.
	out := s.run(t, "record", "set", "lb.test", "chk", "A", "--value", "127.0.0.1", "--check", "tcp://127.0.0.61:1", "--check-interval", "1s", "--json")
	var res client.SetResult
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.RRSet.Check == nil || res.RRSet.Check.Timeout.D() != time.Second {
		t.Errorf("record set --check-interval 1s: %v %+v", err, res.RRSet.Check)
	}
	s.stop(t)
}

// TestOneStateAndOneSerial: a listed set has one state, and zone ls shows
// the SOA serial that DNS answers with.
func TestOneStateAndOneSerial(t *testing.T) {
	s := startServer(t, "127.0.0.62", t.TempDir(), "--demo")
	s.run(t, "record", "set", "lb.test", "www", "A", "--set-id", "gone", "--weight", "10", "--ttl", "60", "--value", "127.0.1.9", "--lease", "1s")
	var zones []struct {
		Name string
		SOA  struct{ Serial uint32 }
	}
	if err := json.Unmarshal([]byte(s.run(t, "zone", "ls", "--json")), &zones); err != nil || len(zones) != 1 {
		t.Fatalf("zone ls --json: %v %v", err, zones)
	}
	r := s.query(t, "lb.test.", dns.TypeSOA, "udp")
	if len(r.Answer) != 1 {
		t.Fatalf("SOA: %v", r)
	}
	served := r.Answer[0].(*dns.SOA).Serial
	if zones[0].SOA.Serial != served {
		t.Errorf("zone ls --json serial %d, DNS serial %d", zones[0].SOA.Serial, served)
	}
	if table := s.run(t, "zone", "ls"); !strings.Contains(table, fmt.Sprintf(" %d ", served)) {
		t.Errorf("zone ls does not show serial %d:\n%s", served, table)
	}
	eventually(t, 20*time.Second, "the lease of gone to lapse", func() bool { return s.views(t)["gone"].State == "expired" })
	var raw []map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s.run(t, "record", "ls", "lb.test", "--json")), &raw); err != nil {
		t.Fatal(err)
	}
	for _, v := range raw {
		var status map[string]json.RawMessage
		if err := json.Unmarshal(v["status"], &status); err != nil {
			t.Fatal(err)
		}
		if _, ok := status["state"]; ok {
			t.Errorf("set %s: status has a state of its own beside state %s", v["set_id"], v["state"])
		}
	}
	if table := s.run(t, "record", "ls", "lb.test", "www", "A", "--set-id", "gone"); !strings.Contains(table, " expired ") {
		t.Errorf("record ls shows no expired state:\n%s", table)
	}

	s.stop(t)
}

// TestDemoSeedsOnlyAnEmptyStore: serve --demo run again keeps what the
// user changed and deleted in the demo.
func TestDemoSeedsOnlyAnEmptyStore(t *testing.T) {
	data := t.TempDir()
	s := startServer(t, "127.0.0.63", data, "--demo")
	s.run(t, "record", "set", "lb.test", "www", "A", "--set-id", "demo-1", "--weight", "99", "--ttl", "60", "--value", "127.0.1.1")
	s.run(t, "record", "rm", "lb.test", "www", "A", "--set-id", "demo-2")
	s.stop(t)
	s = startServer(t, "127.0.0.63", data, "--demo")
	v := s.views(t)
	if _, ok := v["demo-2"]; ok {
		t.Errorf("the deleted demo-2 is back after a restart with --demo")
	}
	if v["demo-1"].Weight != 99 {
		t.Errorf("demo-1 has weight %d after a restart with --demo, want the user's 99", v["demo-1"].Weight)
	}
	s.stop(t)
	if !strings.Contains(s.stderr.String(), `msg="demo not created: the store has zones already"`) {
		t.Errorf("the restart does not say why it made no demo:\n%s", s.stderr)
	}
}

// TestRecordLsSharesAreTruthful: `record ls` shows the share the rules
// give now (0 for an expired set, not its weight's), says when a name
// fails open, and shows the share observed in answers.
func TestRecordLsSharesAreTruthful(t *testing.T) {
	s := startServer(t, "127.0.0.64", t.TempDir(), "--demo")
	s.run(t, "record", "set", "lb.test", "www", "A", "--set-id", "gone", "--weight", "60", "--ttl", "60", "--value", "127.0.1.9", "--lease", "1s")
	eventually(t, 20*time.Second, "the lease of gone to lapse", func() bool { return s.views(t)["gone"].Status.Eligible == false })
	for range 200 {
		s.query(t, "www.lb.test.", dns.TypeA, "udp")
	}
	v := s.views(t)
	for id, want := range map[string]string{"demo-1": "16.7%", "demo-2": "33.3%", "demo-3": "50.0%", "gone": "0.0%"} {
		if got := shareColumn(t, s, id); got != want {
			t.Errorf("%s: SHARE %q, want %q", id, got, want)
		}
	}
	if got := observedColumn(t, s, "gone"); got != "0.0%" {
		t.Errorf("gone: OBSERVED %q, want 0.0%%", got)
	}
	var sum uint64
	for _, id := range []string{"demo-1", "demo-2", "demo-3"} {
		sum += v[id].Status.ServedLastMinute
	}
	if sum != 200 {
		t.Errorf("the demo sets served %d answers in the last minute, want 200", sum)
	}
	for _, id := range []string{"demo-1", "demo-2", "demo-3"} {
		s.run(t, "record", "health", "lb.test", "www", "A", "--set-id", id, "--force", "down")
	}
	for id, want := range map[string]string{"demo-1": "16.7% fail-open", "demo-3": "50.0% fail-open", "gone": "0.0%"} {
		if got := shareColumn(t, s, id); got != want {
			t.Errorf("failing open: %s: SHARE %q, want %q", id, got, want)
		}
	}
	if st := s.views(t)["demo-1"].Status; !st.FailOpen || st.Eligible {
		t.Errorf("failing open, demo-1 status: %+v", st)
	}
	s.stop(t)
}

// shareColumn and observedColumn read the SHARE and OBSERVED columns of
// set id from `record ls`.
func shareColumn(t *testing.T, s *server, id string) string    { return column(t, s, id, "SHARE") }
func observedColumn(t *testing.T, s *server, id string) string { return column(t, s, id, "OBSERVED") }

func column(t *testing.T, s *server, id, name string) string {
	t.Helper()
	lines := strings.Split(s.run(t, "record", "ls", "lb.test", "www", "A", "--set-id", id), "\n")
	start := strings.Index(lines[0], name)
	if start < 0 || len(lines) < 2 {
		t.Fatalf("record ls has no %s column:\n%s", name, strings.Join(lines, "\n"))
	}
	end := start + len(name)
	for end < len(lines[0]) && lines[0][end] == ' ' {
		end++
	}
	if end >= len(lines[0]) {
		end = len(lines[1])
	}
	return strings.TrimSpace(lines[1][start:min(end, len(lines[1]))])
}
