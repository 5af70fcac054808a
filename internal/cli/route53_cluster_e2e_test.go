//go:build unix

package cli_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/dnslb/dnslb/internal/etcdtest"
)

// TestRoute53GetChangeInCluster: two servers on one etcd, both with the
// Route 53 API. A change made through the first is INSYNC once both
// answer it (get-change asked of the first); with the second server
// frozen (SIGSTOP: alive for etcd, silent for its peers) a new change
// stays PENDING, since the frozen server's answers do not carry it; once
// it thaws, the change is INSYNC and answered by it. The aws CLI is the
// client, as `aws route53 wait resource-record-sets-changed` users have it.
func TestRoute53GetChangeInCluster(t *testing.T) {
	waitBound(t)
	needTool(t, "/usr/bin/aws")
	ec := etcdtest.Start(t, 1)
	creds := filepath.Join(t.TempDir(), "r53-credentials")
	if err := os.WriteFile(creds, []byte(r53Key+" "+r53Secret+" admin\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var servers []*server
	for i, ip := range []string{"127.0.0.71", "127.0.0.72"} {
		servers = append(servers, startServer(t, ip, t.TempDir(), "--r53-credentials", creds, "--zone", "example.com",
			"--store", etcdStore(ec.Endpoints()), "--etcd-prefix", "/r53c/", "--server-id", "s"+string(rune('a'+i))))
	}
	a, b := servers[0], servers[1]
	until(t, "both servers in the cluster", 20*time.Second, func() bool {
		var c struct{ Members []any }
		resp, err := http.Get("http://" + a.api + "/v1/cluster")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		return json.NewDecoder(resp.Body).Decode(&c) == nil && len(c.Members) == 2
	})
	zones := mustAWS(t, a, "route53", "list-hosted-zones")["HostedZones"].([]any)
	zid := zones[0].(map[string]any)["Id"].(string)
	change := func(batch string) string {
		ch := mustAWS(t, a, "route53", "change-resource-record-sets", "--hosted-zone-id", zid, "--change-batch", batch)
		return ch["ChangeInfo"].(map[string]any)["Id"].(string)
	}
	status := func(id string) string {
		return mustAWS(t, a, "route53", "get-change", "--id", id)["ChangeInfo"].(map[string]any)["Status"].(string)
	}
	answers := func(s *server, ip string) bool {
		for _, rr := range s.query(t, "www.example.com.", dns.TypeA, "udp").Answer {
			if a, ok := rr.(*dns.A); ok && a.A.String() == ip {
				return true
			}
		}
		return false
	}

	first := change(weightedBatch("UPSERT", "i-1=127.0.1.1=10"))
	until(t, "the first change INSYNC", 10*time.Second, func() bool { return status(first) == "INSYNC" })
	if !answers(b, "127.0.1.1") {
		t.Fatal("INSYNC, but the second server does not answer the change")
	}

	if err := b.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	frozen := time.Now()
	second := change(weightedBatch("UPSERT", "i-1=127.0.1.2=10")) // one set: every answer is its value
	if got := status(second); got != "PENDING" {
		t.Errorf("with the second server frozen %v ago: get-change %s, want PENDING", time.Since(frozen).Round(time.Millisecond), got)
	}
	if err := b.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	took := until(t, "the second change INSYNC after the thaw", 20*time.Second, func() bool { return status(second) == "INSYNC" })
	if !answers(b, "127.0.1.2") {
		t.Error("INSYNC, but the thawed server does not answer the change")
	}
	t.Logf("PENDING while a server was frozen; INSYNC %v after it thawed", took)
}
