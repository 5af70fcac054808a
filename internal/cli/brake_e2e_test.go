package cli_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// TestDeadNeighboursLeaveAnswers is issue 10's scenario over a real
// server: three sets with --lease 3s that never renew beside one renewed
// every half second. The renewing set proves the network works: the dead
// leave answers within the lease (plus a second of slack for a busy
// machine), DNS answers only the live address, and the brake stays off.
func TestDeadNeighboursLeaveAnswers(t *testing.T) {
	s := startServer(t, "127.0.0.34", t.TempDir(), "--zone", "lb.test")
	for i, id := range []string{"dead-1", "dead-2", "dead-3", "live"} {
		s.run(t, "record", "set", "lb.test", "www", "A", "--set-id", id, "--weight", "10", "--ttl", "1",
			"--lease", "3s", "--value", fmt.Sprintf("127.0.1.%d", i+1))
	}
	start := time.Now()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	var gone time.Duration
	for gone == 0 && time.Since(start) < 10*time.Second {
		<-tick.C
		s.run(t, "record", "renew", "lb.test", "www", "A", "--set-id", "live")
		var views []struct {
			SetID  string `json:"set_id"`
			State  string `json:"state"` // the one state of a listed set
			Status struct {
				Braked bool `json:"braked"`
			} `json:"status"`
		}
		if err := json.Unmarshal([]byte(s.run(t, "record", "ls", "lb.test", "--json")), &views); err != nil {
			t.Fatal(err)
		}
		expired := 0
		for _, v := range views {
			if strings.HasPrefix(v.SetID, "dead") && v.State == "expired" && !v.Status.Braked {
				expired++
			}
		}
		if expired == 3 {
			gone = time.Since(start)
		}
	}
	t.Logf("the three dead sets left answers %s after registering (lease 3s)", gone)
	if gone == 0 || gone > 4*time.Second {
		t.Fatalf("dead sets gone after %s; want within the 3 s lease (+1 s):\n%s", gone, s.run(t, "record", "ls", "lb.test"))
	}
	for range 50 {
		r := s.query(t, "www.lb.test.", dns.TypeA, "udp")
		if len(r.Answer) != 1 || r.Answer[0].(*dns.A).A.String() != "127.0.1.4" {
			t.Fatalf("answer with only the live set left: %v", r.Answer)
		}
	}
	if out := s.run(t, "brake", "status"); !strings.HasPrefix(out, "brake off: 1 of 1 leases renewing") {
		t.Errorf("brake status: %q", out)
	}
}

// TestBrakeHoldsWhenRenewalsStop is the case the brake is for, over a real
// server: every renewal stops at once (the server's network broke, or
// heartbeats are blocked). The lapsed sets stay in answers, visibly (brake
// status, record ls, /readyz, the metric), until --brake-max; then they
// expire.
func TestBrakeHoldsWhenRenewalsStop(t *testing.T) {
	s := startServer(t, "127.0.0.37", t.TempDir(), "--zone", "lb.test", "--brake-max", "3s")
	for i, id := range []string{"a", "b", "c"} {
		s.run(t, "record", "set", "lb.test", "www", "A", "--set-id", id, "--weight", "10", "--ttl", "1",
			"--lease", "2s", "--value", fmt.Sprintf("127.0.1.%d", i+1))
	}
	brake := func() (st struct {
		State string `json:"state"`
		Held  int    `json:"held"`
	}) {
		if err := json.Unmarshal([]byte(s.run(t, "brake", "status", "--json")), &st); err != nil {
			t.Fatal(err)
		}
		return st
	}
	eventually(t, 10*time.Second, "the brake to hold all three", func() bool {
		b := brake()
		return b.State == "holding" && b.Held == 3
	})
	engaged := time.Now()
	if got := s.answers(t, 60); len(got) != 3 {
		t.Errorf("answers while the brake holds: %v; want all three sets", got)
	}
	if table := s.run(t, "record", "ls", "lb.test"); !strings.Contains(table, "brake holds it") {
		t.Errorf("record ls while the brake holds:\n%s", table)
	}
	if out := s.run(t, "brake"); !strings.Contains(out, "holding 3 lapsed sets") {
		t.Errorf("dnslb brake: %q", out)
	}
	if !strings.Contains(string(scrape(t, s)), "dnslb_lease_brake_engaged 1") {
		t.Error("/metrics lacks dnslb_lease_brake_engaged 1")
	}
	resp, err := http.Get("http://" + s.api + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"state": "holding"`) {
		t.Errorf("/readyz while the brake holds: %d %s", resp.StatusCode, body)
	}
	eventually(t, 10*time.Second, "--brake-max to pass", func() bool { return brake().State == "released" })
	if held := time.Since(engaged); held < 2500*time.Millisecond {
		t.Errorf("the brake let go %s after engaging; --brake-max is 3s", held)
	}
	if r := s.query(t, "www.lb.test.", dns.TypeA, "udp"); len(r.Answer) != 0 {
		t.Errorf("expired sets still answered past --brake-max: %v", r.Answer)
	}
}
