package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func repoFile(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestAgentOnceAndSecondSignal covers --once for init scripts and the
// second signal that cuts a drain short.
func TestAgentOnceAndSecondSignal(t *testing.T) {
	s := startServer(t, "127.0.0.27", t.TempDir(), "--zone", "lb.test")
	base := []string{"--server", "http://" + s.api, "--zone", "lb.test", "--name", "www",
		"--identity", "static", "--set-id", "once-1", "--address", "127.0.0.28", "--ttl", "1", "--drain-margin", "0s"}
	s.runAgent(t, append(base, "--once", "register")...)
	if v, ok := s.views(t)["once-1"]; !ok || v.Lease != 0 {
		t.Fatalf("--once register: %+v (want a set without lease)", v)
	}
	s.answers(t, 3)
	start := time.Now()
	s.runAgent(t, append(base, "--once", "deregister")...)
	if _, ok := s.views(t)["once-1"]; ok {
		t.Fatal("--once deregister left the set")
	}
	if took := time.Since(start); took < 900*time.Millisecond {
		t.Errorf("--once deregister of a served set returned after %s, before its TTL (1s)", took)
	}

	// A long TTL; the first SIGTERM starts a drain, the second ends it now.
	long := []string{"--server", "http://" + s.api, "--zone", "lb.test", "--name", "www",
		"--identity", "static", "--set-id", "sig-1", "--address", "127.0.0.29", "--ttl", "300"}
	a := startAgent(t, nil, long...)
	eventually(t, 30*time.Second, "sig-1 registered", func() bool { return s.answers(t, 3)["127.0.0.29"] == 3 })
	a.cmd.Process.Signal(syscall.SIGTERM)
	eventually(t, 10*time.Second, "sig-1 draining", func() bool { return s.views(t)["sig-1"].State == "draining" })
	a.cmd.Process.Signal(syscall.SIGTERM)
	a.waitExit(t, 10*time.Second)
	if _, ok := s.views(t)["sig-1"]; ok {
		t.Errorf("after a second signal the set is still registered:\n%s", a.out)
	}
}

func (s *server) runAgent(t *testing.T, args ...string) {
	t.Helper()
	a := startAgent(t, nil, args...)
	a.waitExit(t, 30*time.Second)
	if code := a.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("agent %s: exit %d\n%s", strings.Join(args, " "), code, a.out)
	}
}

// TestAgentSurvivesServerLoss: the server dies and comes back empty on
// the same addresses; the agent keeps running and registers again.
func TestAgentSurvivesServerLoss(t *testing.T) {
	s := startServer(t, "127.0.0.30", t.TempDir(), "--zone", "lb.test")
	a := startAgent(t, nil, "--server", "http://"+s.api, "--zone", "lb.test", "--name", "www",
		"--identity", "static", "--set-id", "keep-1", "--address", "127.0.0.31", "--ttl", "1", "--lease", "3s")
	eventually(t, 30*time.Second, "keep-1 registered", func() bool { return s.answers(t, 3)["127.0.0.31"] == 3 })
	s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.exited
	s = startServerAt(t, s.dns, s.api, t.TempDir(), "--zone", "lb.test") // all state lost, same addresses
	eventually(t, 30*time.Second, "keep-1 registered again", func() bool { return s.answers(t, 3)["127.0.0.31"] == 3 })
	select {
	case <-a.exited:
		t.Fatalf("the agent exited while the server was away:\n%s", a.out)
	default:
	}
	if !strings.Contains(a.out.String(), "registering again") {
		t.Errorf("agent log does not show the re-registration:\n%s", a.out)
	}
}
