//go:build unix

package etcdtest

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// Binary is Debian's etcd server (package etcd-server), which .ci/run
// installs.
const Binary = "/usr/bin/etcd"

// ProcCluster is an etcd cluster whose members are processes of the etcd
// binary, for tests that kill or freeze etcd.
type ProcCluster struct {
	t       testing.TB
	Members []*Proc
}

// Proc is one etcd member process.
type Proc struct {
	Name      string
	ClientURL string
	PeerURL   string
	dir       string
	cluster   string
	mu        sync.Mutex
	cmd       *exec.Cmd
	exited    chan struct{} // closed when cmd has been reaped
	log       bytes.Buffer
}

// StartProcesses starts n etcd member processes on loopback, stopped when
// the test ends. It skips the test when the etcd binary is missing outside
// CI (CI installs it; there a missing binary fails).
func StartProcesses(t testing.TB, n int) *ProcCluster {
	t.Helper()
	if _, err := os.Stat(Binary); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("etcdtest: %s missing: apt-get install etcd-server (.ci/run does)", Binary)
		}
		t.Skipf("etcdtest: %s missing: apt-get install etcd-server", Binary)
	}
	var lastErr error
	for range 5 {
		c, err := startProcs(t, n)
		if err == nil {
			t.Cleanup(c.Close)
			return c
		}
		lastErr = err
	}
	t.Fatalf("etcdtest: start %d processes: %v", n, lastErr)
	return nil
}

func startProcs(t testing.TB, n int) (*ProcCluster, error) {
	base := fmt.Sprintf("127.%d.%d.", 1+rand.IntN(250), 1+rand.IntN(250))
	c := &ProcCluster{t: t}
	var peers []string
	for i := range n {
		host := fmt.Sprintf("%s%d", base, i+1)
		p := &Proc{
			Name:      fmt.Sprintf("p%d", i+1),
			ClientURL: "http://" + host + ":2379",
			PeerURL:   "http://" + host + ":2380",
			dir:       t.TempDir(),
		}
		c.Members = append(c.Members, p)
		peers = append(peers, p.Name+"="+p.PeerURL)
	}
	for _, p := range c.Members {
		p.cluster = strings.Join(peers, ",")
		if err := p.start("new"); err != nil {
			c.Close()
			return nil, err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := c.waitHealthy(ctx); err != nil {
		logs := ""
		for _, p := range c.Members {
			logs += p.Name + ": " + p.Log() + "\n"
		}
		c.Close()
		return nil, fmt.Errorf("%w\n%s", err, logs)
	}
	return c, nil
}

func (p *Proc) start(state string) error {
	cmd := exec.Command(Binary,
		"--name", p.Name,
		"--data-dir", p.dir,
		"--listen-client-urls", p.ClientURL, "--advertise-client-urls", p.ClientURL,
		"--listen-peer-urls", p.PeerURL, "--initial-advertise-peer-urls", p.PeerURL,
		"--initial-cluster", p.cluster, "--initial-cluster-state", state,
		"--initial-cluster-token", "dnslb-test",
		"--heartbeat-interval", "20", "--election-timeout", "200",
		"--log-level", "error")
	// Debian's etcd 3.4 refuses to start on arm64 etc. without this.
	cmd.Env = append(os.Environ(), "ETCD_UNSUPPORTED_ARCH="+runtime.GOARCH)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.log.Reset()
	cmd.Stdout, cmd.Stderr = &lockedWriter{p}, &lockedWriter{p}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", Binary, err)
	}
	p.cmd = cmd
	exited := make(chan struct{})
	p.exited = exited
	go func() {
		cmd.Wait() //nolint:errcheck // a killed member exits with an error
		close(exited)
	}()
	return nil
}

type lockedWriter struct{ p *Proc }

func (w *lockedWriter) Write(b []byte) (int, error) {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	if w.p.log.Len() < 1<<20 {
		w.p.log.Write(b)
	}
	return len(b), nil
}

// Log returns what the member wrote.
func (p *Proc) Log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

func (c *ProcCluster) waitHealthy(ctx context.Context) error {
	cli, err := c.newClient()
	if err != nil {
		return err
	}
	defer cli.Close()
	for {
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		_, err := cli.Get(cctx, "health")
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("etcd not healthy: %w", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (c *ProcCluster) newClient() (*clientv3.Client, error) {
	return clientv3.New(clientv3.Config{Endpoints: c.Endpoints(), DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
}

// Endpoints returns every member's client URL.
func (c *ProcCluster) Endpoints() []string {
	var eps []string
	for _, p := range c.Members {
		eps = append(eps, p.ClientURL)
	}
	return eps
}

// Client returns a client of the cluster, closed when the test ends.
func (c *ProcCluster) Client(t testing.TB) *clientv3.Client {
	t.Helper()
	cli, err := c.newClient()
	if err != nil {
		t.Fatalf("etcdtest: client: %v", err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// Signal sends sig to the member's process (syscall.SIGSTOP freezes it,
// SIGCONT thaws it, SIGKILL kills it).
func (p *Proc) Signal(sig syscall.Signal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return fmt.Errorf("%s is not running", p.Name)
	}
	return p.cmd.Process.Signal(sig)
}

// Kill kills the member (SIGKILL); Restart brings it back on its data.
func (p *Proc) Kill() {
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	p.cmd = nil
	p.mu.Unlock()
	if cmd != nil {
		cmd.Process.Signal(syscall.SIGCONT) //nolint:errcheck // may not be stopped
		cmd.Process.Kill()                  //nolint:errcheck // may have exited
		<-exited
	}
}

// Restart starts a killed member again on its data directory.
func (p *Proc) Restart() error {
	p.Kill()
	return p.start("existing")
}

// Close kills every member.
func (c *ProcCluster) Close() {
	for _, p := range c.Members {
		p.Kill()
	}
}
