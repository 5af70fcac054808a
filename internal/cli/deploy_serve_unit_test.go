package cli_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSystemdServeUnitVerify: systemd accepts the server's unit as it
// would load it from /etc/systemd/system.
func TestSystemdServeUnitVerify(t *testing.T) {
	systemdAnalyze(t)
	root := systemRoot(t, map[string]string{unitDir + "/dnslb.service": repoFile(t, serveUnit)})
	verifyNamedUnit(t, root, "dnslb.service")
}

// TestSystemdServeUnitSettings pins what the server's unit must hold to
// bind port 53 unprivileged, keep its data, and restart sensibly.
func TestSystemdServeUnitSettings(t *testing.T) {
	unit := repoFile(t, serveUnit)
	for _, want := range []string{
		"\nDynamicUser=yes\n", "\nStateDirectory=dnslb\n", "\nProtectSystem=strict\n", "\nNoNewPrivileges=yes\n",
		"\nAmbientCapabilities=CAP_NET_BIND_SERVICE\n", "\nCapabilityBoundingSet=CAP_NET_BIND_SERVICE\n",
		"\nRestart=on-failure\n", "\nRestartPreventExitStatus=2\n", "\nEnvironmentFile=-/etc/default/dnslb\n",
		"/usr/local/bin/dnslb serve --data %S/dnslb ",
	} {
		if !strings.Contains(unit, want) {
			t.Errorf("unit lacks %q", strings.TrimSpace(want))
		}
	}
	if strings.Contains(unit, "\nPrivateUsers=yes\n") {
		t.Error("PrivateUsers=yes: the capability would not hold for the host's network")
	}
	// Every hardening setting of the agent's unit, but for the ones the
	// server needs otherwise.
	differ := map[string]bool{"CapabilityBoundingSet": true, "AmbientCapabilities": true, "PrivateUsers": true,
		"StateDirectory": true, "RestrictAddressFamilies": true}
	agent := repoFile(t, agentUnit)
	sandbox := agent[strings.Index(agent, "\nDynamicUser="):strings.Index(agent, "\n[Install]")]
	for _, line := range strings.Split(strings.TrimSpace(sandbox), "\n") {
		key, _, _ := strings.Cut(line, "=")
		if !differ[key] && !strings.Contains(unit, "\n"+line+"\n") {
			t.Errorf("unit lacks the agent's %s", line)
		}
	}
}

// TestSystemdServeExecStart runs the unit's command line, expanded as
// systemd would with the shipped settings file (on loopback addresses with
// ports chosen by the kernel instead of port 53): serve accepts the flags,
// serves, and on systemd's KillSignal exits 0 well within TimeoutStopSec.
func TestSystemdServeExecStart(t *testing.T) {
	unit := repoFile(t, serveUnit)
	settings := repoFile(t, "deploy/systemd/dnslb.default")
	env := unitEnv(unit, settings)
	stop := unitSeconds(t, unit, `\nTimeoutStopSec=(\d+)\n`)
	lameduck := unitSeconds(t, "\n"+env["DNSLB_LAMEDUCK"]+"\n", `\n(\d+)\n`)
	shutdown := unitSeconds(t, "\n"+env["DNSLB_SHUTDOWN"]+"\n", `\n(\d+)\n`)
	if stop <= lameduck+shutdown+5*time.Second {
		t.Errorf("TimeoutStopSec=%s leaves no room after --lameduck %s + --shutdown %s", stop, lameduck, shutdown)
	}
	opts := env["DNSLB_OPTS"]
	for _, want := range []string{"--dns 0.0.0.0:53", "--api 127.0.0.1:5380", "--zone lb.example.com"} {
		if !strings.Contains(opts, want) {
			t.Errorf("dnslb.default DNSLB_OPTS=%q lacks %s", opts, want)
		}
	}
	env["DNSLB_OPTS"] = strings.NewReplacer("0.0.0.0:53", "127.0.0.61:0", "127.0.0.1:5380", "127.0.0.61:0").Replace(opts)
	env["DNSLB_LAMEDUCK"] = "1" // keep the test short; the unit's value is checked above
	args := execStart(t, unit, env)
	if args[0] != "/usr/local/bin/dnslb" {
		t.Fatalf("ExecStart runs %s", args[0])
	}
	state := t.TempDir()
	for i, a := range args {
		args[i] = strings.ReplaceAll(a, "%S", state)
	}
	ctx, cancel := context.WithTimeout(context.Background(), stop)
	defer cancel()
	out := &syncBuffer{}
	cmd := exec.CommandContext(ctx, os.Args[0], args[1:]...)
	cmd.Env = append(os.Environ(), "DNSLB_TEST_MAIN=1")
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, func() bool { return strings.Contains(out.String(), `"msg":"dnslb serving"`) }, out)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("serve after SIGTERM: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(state, "dnslb", "dnslb.db")); err != nil {
		t.Errorf("no data in the state directory: %v", err)
	}
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, cond func() bool, out *syncBuffer) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out:\n%s", out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
