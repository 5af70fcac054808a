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
