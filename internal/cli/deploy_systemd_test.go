package cli_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	agentUnit   = "deploy/systemd/dnslb-agent.service"
	serveUnit   = "deploy/systemd/dnslb.service"
	appDropIn   = "deploy/systemd/dnslb-agent.service.d/app.conf.example"
	unitDir     = "etc/systemd/system"
	unitBinary  = "usr/local/bin/dnslb"
	maxExposure = 2.0
)

// systemdAnalyze returns the path of systemd-analyze, or skips the test:
// .ci/run installs Debian's systemd package, so CI always has it.
func systemdAnalyze(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed (apt-get install systemd); .ci/run installs it")
	}
	return path
}

// systemRoot makes a file system root for `systemd-analyze verify --root`:
// the host's own system units (the targets the agent's unit names), the
// release binary at the unit's ExecStart path, and the given files.
func systemRoot(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	copySystemUnits(t, root)
	installFile(t, filepath.Join(root, unitBinary), releaseBinary(t), 0o755)
	for dst, content := range files {
		writeFile(t, filepath.Join(root, dst), content, 0o644)
	}
	return root
}

// copySystemUnits copies the host's system units (symbolic links as they
// are) into root.
func copySystemUnits(t *testing.T, root string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(root, "usr/lib/systemd"), 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("cp", "-a", "/usr/lib/systemd/system", filepath.Join(root, "usr/lib/systemd/")).CombinedOutput()
	if err != nil {
		t.Fatalf("copying the host's system units: %v\n%s", err, out)
	}
}

// verifyUnit runs `systemd-analyze verify` on the agent's unit in root and
// fails on any complaint, not only on a non-zero exit.
func verifyUnit(t *testing.T, root string) {
	t.Helper()
	verifyNamedUnit(t, root, "dnslb-agent.service")
}

// verifyNamedUnit runs `systemd-analyze verify` on unit in root and fails
// on any complaint.
func verifyNamedUnit(t *testing.T, root, unit string) {
	t.Helper()
	cmd := exec.Command(systemdAnalyze(t), "verify", "--root="+root, unit)
	out, err := cmd.CombinedOutput()
	if err != nil || len(out) != 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// TestSystemdUnitsVerify verifies the shipped unit alone, with the example
// drop-in that orders it after the application (whether that unit exists
// or not), as systemd would load them from /etc/systemd/system.
func TestSystemdUnitsVerify(t *testing.T) {
	systemdAnalyze(t)
	unit := func(t *testing.T) (string, string) { return unitDir + "/dnslb-agent.service", repoFile(t, agentUnit) }
	dropIn := func(t *testing.T) (string, string) {
		return unitDir + "/dnslb-agent.service.d/app.conf", repoFile(t, appDropIn)
	}
	app := func(*testing.T) (string, string) {
		return unitDir + "/app.service", "[Unit]\nDescription=the application\n[Service]\nExecStart=/usr/local/bin/dnslb version\n"
	}
	for _, tc := range []struct {
		name  string
		files []func(*testing.T) (string, string)
	}{
		{"unit alone", []func(*testing.T) (string, string){unit}},
		{"with drop-in, no application unit", []func(*testing.T) (string, string){unit, dropIn}},
		{"with drop-in and application unit", []func(*testing.T) (string, string){unit, dropIn, app}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{}
			for _, f := range tc.files {
				path, content := f(t)
				files[path] = content
			}
			verifyUnit(t, systemRoot(t, files))
		})
	}
}

// TestSystemdAppOrdering: the drop-in orders the agent after the
// application (so it starts last and stops first) and never makes the
// agent's start fail with the application's.
func TestSystemdAppOrdering(t *testing.T) {
	unit := repoFile(t, agentUnit)
	if strings.Contains(unit, "app.service") {
		t.Error("the unit names app.service itself; the application's unit belongs in a drop-in")
	}
	dropIn := repoFile(t, appDropIn)
	for _, want := range []string{"\n[Unit]\n", "\nAfter=app.service\n", "\nPartOf=app.service\n"} {
		if !strings.Contains(dropIn, want) {
			t.Errorf("drop-in lacks %q", strings.TrimSpace(want))
		}
	}
	if strings.Contains(dropIn, "\nRequires=") || strings.Contains(dropIn, "\nBindsTo=") {
		t.Error("the drop-in makes the agent's start fail when the application is missing")
	}
}

// TestSystemdUnitSecurity scores the shipped units offline (systemd ≥ 250).
func TestSystemdUnitSecurity(t *testing.T) {
	for _, tc := range []struct{ path, name, stateDir string }{
		{agentUnit, "dnslb-agent.service", "dnslb-agent"},
		{serveUnit, "dnslb.service", "dnslb"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if score, out := exposure(t, tc.path, tc.name); score > maxExposure {
				t.Errorf("exposure %.1f, want at most %.1f:\n%s", score, maxExposure, out)
			}
			if !strings.Contains(repoFile(t, tc.path), "\nStateDirectory="+tc.stateDir+"\n") {
				t.Errorf("unit lacks StateDirectory=%s", tc.stateDir)
			}
		})
	}
}

// exposure is the overall exposure level `systemd-analyze security` gives
// the unit file at path (named name), and the whole report.
func exposure(t *testing.T, path, name string) (float64, []byte) {
	t.Helper()
	sa := systemdAnalyze(t)
	out, err := exec.Command(sa, "security", "--offline=true", filepath.Join("..", "..", path)).CombinedOutput()
	if strings.Contains(string(out), "unrecognized option") {
		t.Skipf("systemd-analyze security --offline needs systemd 250 or later:\n%s", out)
	}
	m := regexp.MustCompile(`Overall exposure level for ` + regexp.QuoteMeta(name) + `: (\d+\.\d+)`).FindSubmatch(out)
	if err != nil || m == nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	score, _ := strconv.ParseFloat(string(m[1]), 64)
	t.Logf("%s: exposure %.1f", name, score)
	return score, out
}

// TestSystemdStopTimeout: systemd waits for any drain the agent can start
// (TTL + margin + slack), and tells the agent how long it waits, so that an
// agent with a longer TTL refuses to start instead of being killed
// mid-drain.
func TestSystemdStopTimeout(t *testing.T) {
	unit := repoFile(t, agentUnit)
	stop := unitSeconds(t, unit, `\nTimeoutStopSec=(\d+)\n`)
	told := unitSeconds(t, unit, `\nEnvironment=DNSLB_STOP_TIMEOUT=(\d+)\n`)
	if stop != told {
		t.Errorf("TimeoutStopSec=%s but the agent is told DNSLB_STOP_TIMEOUT=%s", stop, told)
	}
	if !strings.Contains(unit, "--stop-timeout ${DNSLB_STOP_TIMEOUT}s ") {
		t.Error("ExecStart does not pass --stop-timeout ${DNSLB_STOP_TIMEOUT}s")
	}
	ttl := unitSeconds(t, repoFile(t, "deploy/systemd/dnslb-agent.default"), `\nDNSLB_TTL=(\d+)\n`)
	const margin, slack = 5 * time.Second, 10 * time.Second
	if stop < ttl+margin+slack {
		t.Errorf("TimeoutStopSec=%s does not fit TTL %s + margin %s + slack %s", stop, ttl, margin, slack)
	}
}

func unitSeconds(t *testing.T, text, re string) time.Duration {
	t.Helper()
	m := regexp.MustCompile(re).FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no %s", re)
	}
	n, _ := strconv.Atoi(m[1])
	return time.Duration(n) * time.Second
}

// TestAgentRefusesShortStopTimeout: an agent whose drain cannot fit the
// service manager's stop timeout exits at once, naming both flags.
func TestAgentRefusesShortStopTimeout(t *testing.T) {
	a := startAgent(t, nil, "--server", "http://127.0.0.1:1", "--zone", "lb.test", "--name", "www",
		"--identity", "static", "--set-id", "st-1", "--address", "127.0.0.26", "--ttl", "300", "--stop-timeout", "90s")
	a.waitExit(t, 10*time.Second)
	if code := a.cmd.ProcessState.ExitCode(); code == 0 {
		t.Fatalf("agent exit 0:\n%s", a.out)
	}
	want := "dnslb: --stop-timeout 1m30s: shorter than the longest drain the agent can start " +
		"(--ttl 5m0s + --drain-margin 5s + 10s slack = 5m15s); raise --stop-timeout together with the " +
		"service manager's stop timeout (systemd TimeoutStopSec), or lower --ttl\n"
	if got := a.out.String(); got != want {
		t.Errorf("agent output:\n%s\nwant:\n%s", got, want)
	}
}

func writeFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

func installFile(t *testing.T, dst, src string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, dst, string(b), mode)
}
