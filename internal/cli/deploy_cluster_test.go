//go:build unix

package cli_test

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/dnslb/dnslb/internal/etcdtest"
)

// TestDeployCluster runs deploy/cluster/run.sh (3 etcd members and 3
// dnslb servers on loopback, this test binary as dnslb), writes through
// the first server and reads the answer from the other two over DNS; then
// Ctrl-C (SIGINT) stops every process the script started.
func TestDeployCluster(t *testing.T) {
	waitBound(t)
	if _, err := os.Stat(etcdtest.Binary); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s missing: apt-get install etcd-server (.ci/run does)", etcdtest.Binary)
		}
		t.Skipf("%s missing", etcdtest.Binary)
	}
	net := fmt.Sprintf("127.%d.%d", 100+rand.IntN(100), 1+rand.IntN(250))
	dir := t.TempDir()
	cmd := exec.Command("bash", filepath.Join("..", "..", "deploy", "cluster", "run.sh"))
	cmd.Env = append(os.Environ(), "DNSLB="+os.Args[0], "DNSLB_TEST_MAIN=1", "CLUSTER_NET="+net, "CLUSTER_DIR="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() { _ = cmd.Process.Signal(syscall.SIGINT); <-exited })
	pids := waitReady(t, lines, dir)

	a := &server{api: net + ".11:5380"}
	began := time.Now()
	a.run(t, "record", "set", "lb.test", "www", "A", "--set-id", "i-1", "--weight", "10", "--value", "192.0.2.1")
	for _, ip := range []string{net + ".12", net + ".13"} {
		s := &server{dns: ip + ":5300"}
		until(t, "the write through "+a.api+" answered by "+s.dns, 10*time.Second, func() bool {
			r := s.query(t, "www.lb.test.", dns.TypeA, "udp")
			return len(r.Answer) == 1 && r.Answer[0].(*dns.A).A.String() == "192.0.2.1"
		})
	}
	t.Logf("a write through server 1 answered by servers 2 and 3 within %v", time.Since(began).Round(time.Millisecond))

	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
		exited <- nil // for the cleanup
	case <-time.After(30 * time.Second):
		t.Fatal("run.sh did not stop on SIGINT")
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); err == nil {
			t.Errorf("process %d still runs after Ctrl-C", pid)
		}
	}
}

// waitReady reads run.sh's output until "cluster ready" and returns the
// pids it prints.
func waitReady(t *testing.T, lines <-chan string, dir string) []int {
	t.Helper()
	var seen []string
	timeout := time.After(90 * time.Second)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("run.sh ended before the cluster was ready:\n%s\n%s", strings.Join(seen, "\n"), logs(dir))
			}
			seen = append(seen, line)
			if pids, ok := strings.CutPrefix(line, "pids: "); ok {
				var out []int
				for f := range strings.FieldsSeq(pids) {
					n, _ := strconv.Atoi(f)
					out = append(out, n)
				}
				if len(out) != 6 {
					t.Fatalf("run.sh printed %d pids, want 6: %q", len(out), line)
				}
				return out
			}
		case <-timeout:
			t.Fatalf("cluster not ready in 90s:\n%s\n%s", strings.Join(seen, "\n"), logs(dir))
		}
	}
}

func logs(dir string) string {
	var b strings.Builder
	files, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	for _, f := range files {
		data, _ := os.ReadFile(f)
		fmt.Fprintf(&b, "== %s\n%s\n", f, data)
	}
	return b.String()
}
