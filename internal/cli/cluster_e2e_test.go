package cli_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/dnslb/dnslb/internal/etcdtest"
)

// TestClusterServe runs three `dnslb serve` processes on one etcd: a set
// written through one is answered by the others; renewals through one
// server keep it in all three's answers, though the other two never hear
// its agent; once nobody renews it, it leaves all three.
func TestClusterServe(t *testing.T) {
	ec := etcdtest.Start(t, 1)
	var servers []*server
	for i := range 3 {
		servers = append(servers, startServer(t, fmt.Sprintf("127.0.0.%d", 51+i), t.TempDir(), "--zone", "lb.test",
			"--store", etcdStore(ec.Endpoints()), "--etcd-prefix", "/e2e/", "--server-id", fmt.Sprintf("s%d", i)))
	}
	servers[0].run(t, "record", "set", "lb.test", "www", "A", "--set-id", "i-a", "--weight", "10", "--ttl", "5",
		"--value", "127.0.1.1", "--lease", "3s")
	for _, s := range servers[1:] {
		took := until(t, "the set answered by "+s.api, 5*time.Second, func() bool { return s.answersWith(t, "127.0.1.1") })
		t.Logf("written through %s, answered by %s after %v", servers[0].api, s.api, took)
	}
	for range 8 { // more than twice the lease, renewing through server 1 only
		servers[1].run(t, "record", "renew", "lb.test", "www", "A", "--set-id", "i-a")
		for _, s := range servers {
			if !s.answersWith(t, "127.0.1.1") {
				t.Fatalf("%s dropped the set renewed through %s", s.api, servers[1].api)
			}
		}
		time.Sleep(time.Second) // the agent's renewal interval (a third of the lease)
	}
	for _, s := range servers {
		took := until(t, "the set gone from "+s.api, 10*time.Second, func() bool { return !s.answersWith(t, "127.0.1.1") })
		t.Logf("no renewal: gone from %s after %v more", s.api, took)
	}
}
