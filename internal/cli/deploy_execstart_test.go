package cli_test

import (
	"bufio"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// unitEnv is the environment systemd gives the unit's ExecStart: its
// Environment= lines, then the settings file (later settings win).
func unitEnv(unit, settings string) map[string]string {
	env := map[string]string{}
	for _, line := range strings.Split(unit, "\n") {
		if v, ok := strings.CutPrefix(line, "Environment="); ok {
			for _, kv := range strings.Fields(v) {
				k, v, _ := strings.Cut(kv, "=")
				env[k] = v
			}
		}
	}
	sc := bufio.NewScanner(strings.NewReader(settings))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			env[k] = strings.Trim(v, `"`)
		}
	}
	return env
}

var (
	wholeVar  = regexp.MustCompile(`^\$([A-Za-z_][A-Za-z0-9_]*)$`)
	bracedVar = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)
)

// execStart expands the unit's ExecStart as systemd does: "${VAR}" within
// a word gives one argument, "$VAR" as a word of its own is split at
// whitespace (and vanishes when empty).
func execStart(t *testing.T, unit string, env map[string]string) []string {
	t.Helper()
	m := regexp.MustCompile(`(?s)\nExecStart=(.*?[^\\])\n`).FindStringSubmatch(unit)
	if m == nil {
		t.Fatal("unit has no ExecStart")
	}
	var args []string
	for _, w := range strings.Fields(strings.ReplaceAll(m[1], "\\\n", " ")) {
		if v := wholeVar.FindStringSubmatch(w); v != nil {
			args = append(args, strings.Fields(env[v[1]])...)
			continue
		}
		args = append(args, bracedVar.ReplaceAllStringFunc(w, func(s string) string { return env[s[2:len(s)-1]] }))
	}
	return args
}

// TestSystemdExecStart runs the unit's command line, expanded as systemd
// would with the shipped settings file (and a few test settings after it),
// against a real server: the agent accepts the unit's flags and its stop
// timeout, registers, and on systemd's KillSignal drains and exits 0.
func TestSystemdExecStart(t *testing.T) {
	s := startServer(t, "127.0.0.42", t.TempDir(), "--zone", "lb.test")
	unit := repoFile(t, agentUnit)
	settings := repoFile(t, "deploy/systemd/dnslb-agent.default") + "DNSLB_SERVER=http://" + s.api +
		"\nDNSLB_ZONE=lb.test\nDNSLB_TTL=1\nDNSLB_IDENTITY=static\nDNSLB_CHECK=\n" +
		`DNSLB_OPTS="--lease 3s --drain-margin 0s --set-id unit-1 --address 127.0.0.43"` + "\n"
	args := execStart(t, unit, unitEnv(unit, settings))
	if args[0] != "/usr/local/bin/dnslb" {
		t.Fatalf("ExecStart runs %s", args[0])
	}
	out := &syncBuffer{}
	cmd := exec.Command(releaseBinary(t), args[1:]...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var waitErr error
	exited := make(chan struct{})
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() { // never leave the agent behind
		select {
		case <-exited:
		default:
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	eventually(t, 30*time.Second, "the unit's agent registered", func() bool { return s.answers(t, 3)["127.0.0.43"] == 3 })
	if lease := s.views(t)["unit-1"].Lease.D(); lease != 3*time.Second {
		t.Errorf("lease %s, want the 3s of DNSLB_OPTS", lease)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
		if waitErr != nil {
			t.Fatalf("agent: %v\n%s", waitErr, out)
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("the agent did not drain and exit within 15s:\n%s", out)
	}
	if _, ok := s.views(t)["unit-1"]; ok {
		t.Errorf("still registered after the drain:\n%s", out)
	}
	if !strings.HasPrefix(out.String(), `{"time":`) {
		t.Errorf("the unit's --log-format json was not applied:\n%s", out)
	}
}
