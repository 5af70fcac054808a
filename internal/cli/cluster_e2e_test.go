//go:build unix

package cli_test

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/dnslb/dnslb/internal/etcdtest"
)

// TestClusterServe runs three `dnslb serve` processes on one etcd: a set
// written through one is answered by the others; renewals through one
// server keep it in all three's answers, though the other two never hear
// its agent; once nobody renews it, it leaves all three.
func TestClusterServe(t *testing.T) {
	waitBound(t)
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

// TestClusterAgentFailsOver: an agent given both servers of a cluster
// registers and renews (UDP heartbeats, else HTTP) through the first;
// that server is killed (SIGKILL). The other keeps answering with the
// set for three leases and more, since the agent renews through it now;
// SIGTERM to the agent then drains the set out of its answers.
func TestClusterAgentFailsOver(t *testing.T) {
	waitBound(t)
	ec := etcdtest.Start(t, 1)
	var servers []*server
	for i := range 2 {
		servers = append(servers, startServer(t, fmt.Sprintf("127.0.0.%d", 56+i), t.TempDir(), "--zone", "lb.test",
			"--store", etcdStore(ec.Endpoints()), "--etcd-prefix", "/failover/", "--server-id", fmt.Sprintf("f%d", i)))
	}
	a, b := servers[0], servers[1]
	agent := startAgent(t, nil, "--server", "http://"+a.api+",http://"+b.api, "--zone", "lb.test", "--name", "www",
		"--identity", "static", "--set-id", "i-1", "--address", "127.0.1.1", "--weight", "10",
		"--ttl", "1", "--lease", "3s", "--drain-margin", "1s", "--check", "")
	until(t, "the agent's set answered by the second server", 15*time.Second, func() bool { return b.answersWith(t, "127.0.1.1") })

	a.kill(t)
	killed := time.Now()
	for time.Since(killed) < 10*time.Second { // more than three leases
		if !b.answersWith(t, "127.0.1.1") {
			t.Fatalf("the set left the second server's answers %v after the first was killed:\n%s", time.Since(killed).Round(time.Millisecond), agent.out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err := agent.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	agent.waitExit(t, 30*time.Second)
	if b.answersWith(t, "127.0.1.1") {
		t.Errorf("the drained set is still answered:\n%s", agent.out)
	}
}
