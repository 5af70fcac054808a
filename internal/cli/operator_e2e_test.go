package cli_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/dnslb/dnslb/internal/api/client"
)

// TestStatusExplainHistory runs the operator's commands against a live
// `dnslb serve`: status shows the pool, explain says why a drained set is
// not answered, history lists the changes and is still there after a
// restart on the same data file.
func TestStatusExplainHistory(t *testing.T) {
	data := t.TempDir()
	s := startServer(t, "127.0.0.71", data, "--demo")
	for range 40 { // demo-2 is served, so its drain waits for resolvers
		s.query(t, "www.lb.test.", dns.TypeA, "udp")
	}
	s.run(t, "record", "set", "lb.test", "www", "A", "--set-id", "demo-1", "--weight", "30", "--ttl", "60", "--value", "127.0.1.1")
	s.run(t, "record", "drain", "lb.test", "www", "A", "--set-id", "demo-2")

	out := s.run(t, "status", "lb.test", "www")
	for _, want := range []string{"www.lb.test. A (policy weighted): eligible sets with weight > 0, by weight", "demo-1", "draining"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	var page client.StatusPage
	if err := json.Unmarshal([]byte(s.run(t, "status", "--json")), &page); err != nil || page.Total < 1 || len(page.Names[0].Sets) == 0 {
		t.Errorf("status --json: %v %+v", err, page)
	}

	out = s.run(t, "explain", "www.lb.test")
	for _, want := range []string{"www.lb.test. A in zone lb.test., policy weighted: fails open when no set is eligible",
		"2 of 3 sets answer", "demo-2  20      no        no        0.0%         draining since ", "draining since "} {
		if !strings.Contains(out, want) {
			t.Errorf("explain lacks %q:\n%s", want, out)
		}
	}

	want := []string{"demo-1  registered", "demo-1  updated", "-> 30", "demo-2  drain-started"}
	check := func(when string) {
		out := s.run(t, "history", "lb.test", "www", "A")
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("history %s lacks %q:\n%s", when, w, out)
			}
		}
	}
	check("before a restart")
	s.stop(t)
	s = startServer(t, "127.0.0.71", data)
	check("after a restart")
	if out := s.run(t, "history", "lb.test", "www", "--set-id", "demo-3"); strings.Contains(out, "demo-1") || !strings.Contains(out, "demo-3") {
		t.Errorf("history --set-id demo-3:\n%s", out)
	}
	s.stop(t)
}
