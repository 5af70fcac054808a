//go:build unix

package cli_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// sysv runs the SysV init script with its files in a temporary directory.
type sysv struct {
	dir string
	env []string
}

// newSysV sets the script up against server s, with the release binary.
func newSysV(t *testing.T, s *server, extra ...string) *sysv {
	t.Helper()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "subsys"), 0o755); err != nil {
		t.Fatal(err)
	}
	v := &sysv{dir: dir, env: append(append(os.Environ(), "DNSLB="+releaseBinary(t),
		"DNSLB_SERVER=http://"+s.api, "DNSLB_ZONE=lb.test", "DNSLB_NAME=www", "DNSLB_TTL=1",
		"DNSLB_IDENTITY=static", "DNSLB_SET_ID=sysv-1", "DNSLB_ADDRESS=127.0.0.26", "DNSLB_DRAIN_MARGIN=0s",
		"DNSLB_OPTS=--lease 4s --log-format json",
		"DNSLB_PIDFILE="+filepath.Join(dir, "pid"), "DNSLB_LOG="+filepath.Join(dir, "log"),
		"DNSLB_LOCKDIR="+filepath.Join(dir, "subsys")), extra...)}
	t.Cleanup(func() { v.kill() }) // never leave the agent behind
	return v
}

// run runs the script with action and returns its output and exit code.
func (v *sysv) run(t *testing.T, action string) (string, int) {
	t.Helper()
	cmd := exec.Command("/bin/sh", filepath.Join("..", "..", "deploy/sysv/dnslb-agent"), action)
	cmd.Env = v.env
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("%s: %v", action, err)
	}
	return string(out), cmd.ProcessState.ExitCode()
}

func (v *sysv) exists(name string) bool {
	_, err := os.Stat(filepath.Join(v.dir, name))
	return err == nil
}

func (v *sysv) kill() {
	if b, err := os.ReadFile(filepath.Join(v.dir, "pid")); err == nil {
		if pid, _ := strconv.Atoi(strings.TrimSpace(string(b))); pid > 0 {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// TestSysVInitScript runs the init script for real against a server:
// start registers the instance (with DNSLB_OPTS) and takes the lock that
// makes RHEL-style rc run the stop at shutdown; status reports it; stop
// drains, returns once the set is gone and drops the lock.
func TestSysVInitScript(t *testing.T) {
	if !strings.Contains(repoFile(t, "deploy/sysv/dnslb-agent"), "chkconfig: 35 99 10") {
		t.Error("the init script must start last and stop first (chkconfig: 35 99 10)")
	}
	s := startServer(t, "127.0.0.25", t.TempDir(), "--zone", "lb.test")
	v := newSysV(t, s)
	if out, code := v.run(t, "status"); code != 3 || out != "dnslb-agent is stopped\n" {
		t.Errorf("status before start: exit %d, %q", code, out)
	}
	if out, code := v.run(t, "start"); code != 0 || out != "Starting dnslb-agent: ok\n" {
		t.Fatalf("start: exit %d, %q", code, out)
	}
	if !v.exists("subsys/dnslb-agent") {
		t.Error("start took no lock file")
	}
	eventually(t, 30*time.Second, "the init script's agent registered", func() bool { return s.answers(t, 3)["127.0.0.26"] == 3 })
	if lease := s.views(t)["sysv-1"].Lease.D(); lease != 4*time.Second {
		t.Errorf("lease %s, want the 4s of DNSLB_OPTS", lease)
	}
	if out, code := v.run(t, "status"); code != 0 || !strings.HasPrefix(out, "dnslb-agent is running (pid ") {
		t.Errorf("status: exit %d, %q", code, out)
	}
	start := time.Now()
	out, code := v.run(t, "stop")
	log, _ := os.ReadFile(filepath.Join(v.dir, "log"))
	if code != 0 || out != "Draining dnslb-agent (up to 61s): ok\n" {
		t.Errorf("stop: exit %d, %q", code, out)
	}
	if _, ok := s.views(t)["sysv-1"]; ok {
		t.Fatalf("still registered after stop (%s):\n%s", time.Since(start), log)
	}
	if !strings.Contains(string(log), `"msg":"drained: no client can still hold this address"`) {
		t.Errorf("the agent's log (JSON, from DNSLB_OPTS) shows no drain:\n%s", log)
	}
	if v.exists("subsys/dnslb-agent") || v.exists("pid") {
		t.Error("stop left the lock or the pid file")
	}
}

// TestSysVStartFails: an agent that refuses its settings makes start fail
// with the end of its log, and leaves neither lock nor pid file.
func TestSysVStartFails(t *testing.T) {
	s := startServer(t, "127.0.0.25", t.TempDir(), "--zone", "lb.test")
	v := newSysV(t, s, "DNSLB_WEIGHT=999")
	out, code := v.run(t, "start")
	want := "Starting dnslb-agent: failed; the end of " + filepath.Join(v.dir, "log") + ":\n" +
		"dnslb: --weight 999: allowed 0..255\n"
	if code != 1 || out != want {
		t.Errorf("start: exit %d,\n%q\nwant\n%q", code, out, want)
	}
	if v.exists("subsys/dnslb-agent") || v.exists("pid") {
		t.Error("a failed start left the lock or the pid file")
	}
	if out, code := v.run(t, "status"); code != 3 {
		t.Errorf("status after a failed start: exit %d, %q", code, out)
	}
}
