package cli_test

import (
	"encoding/json"
	"fmt"
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
			Status struct {
				State  string `json:"state"`
				Braked bool   `json:"braked"`
			} `json:"status"`
		}
		if err := json.Unmarshal([]byte(s.run(t, "record", "ls", "lb.test", "--json")), &views); err != nil {
			t.Fatal(err)
		}
		expired := 0
		for _, v := range views {
			if strings.HasPrefix(v.SetID, "dead") && v.Status.State == "expired" && !v.Status.Braked {
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
