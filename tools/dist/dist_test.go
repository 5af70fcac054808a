package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

const testVersion = "1.2.3~test"

// packaged are the files of both packages but the licence, whose place
// differs (Debian's copyright file, rpm's licenses directory).
var packaged = []string{
	"/etc/default/dnslb",
	"/etc/default/dnslb-agent",
	"/usr/bin/dnslb",
	"/usr/lib/systemd/system/dnslb-agent.service",
	"/usr/lib/systemd/system/dnslb.service",
	"/usr/share/bash-completion/completions/dnslb",
	"/usr/share/doc/dnslb/README.md",
	"/usr/share/doc/dnslb/dnslb-agent.service.d/app.conf.example",
	"/usr/share/doc/dnslb/examples/dnslb-agent.yaml",
	"/usr/share/doc/dnslb/examples/dnslb.yaml",
	"/usr/share/fish/vendor_completions.d/dnslb.fish",
	"/usr/share/man/man1/dnslb.1.gz",
	"/usr/share/zsh/vendor-completions/_dnslb",
}

// dist builds the artefacts of this machine's architecture once for all
// tests of the package.
var dist = struct {
	tmp, dir, commit string // tmp holds the tool and dir, the output
	err              error
}{}

// built returns the output directory of one tools/dist run (for
// runtime.GOARCH, version testVersion); the first call builds. It runs the
// tool as a program of its own, built without -race: instrumented, the
// compression of the packages takes minutes.
func built(t *testing.T) string {
	t.Helper()
	if dist.tmp == "" && dist.err == nil {
		dist.tmp, dist.err = os.MkdirTemp("", "dnslb-dist-test-")
		if dist.err == nil {
			dist.dir, dist.err = runDist(dist.tmp)
		}
		if dist.err == nil {
			dist.commit, dist.err = git("../..", "rev-parse", "HEAD")
		}
	}
	if dist.err != nil {
		t.Fatalf("tools/dist: %v", dist.err)
	}
	return dist.dir
}

// runDist builds tools/dist into tmp and runs it; it returns the output
// directory.
func runDist(tmp string) (string, error) {
	tool, out := filepath.Join(tmp, "dist"), filepath.Join(tmp, "out")
	if msg, err := exec.Command("go", "build", "-o", tool, ".").CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %w\n%s", err, msg)
	}
	cmd := exec.Command(tool, "-root", "../..", "-out", out, "-arch", runtime.GOARCH,
		"-version", testVersion, "-maintainer", "dnslb tests <tests@example.com>")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%s: %w\n%s", tool, err, msg)
	}
	return out, nil
}

func TestMain(m *testing.M) {
	code := m.Run()
	if dist.tmp != "" {
		os.RemoveAll(dist.tmp)
	}
	os.Exit(code)
}

// need skips the test when a tool is missing; .ci/run installs them all.
func need(t *testing.T, tool string) string {
	t.Helper()
	path, err := exec.LookPath(tool)
	if err != nil {
		t.Skipf("%s not installed; .ci/run installs it", tool)
	}
	return path
}

// runOut runs a command and returns its standard output, failing on an error.
func runOut(t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

// debPath is the .deb of this machine's architecture.
func debPath(t *testing.T) string {
	return filepath.Join(built(t), "dnslb_"+testVersion+"_"+runtime.GOARCH+".deb")
}

// TestDebMetadata: dpkg-deb -I reads the control fields the README and
// apt rely on; no Depends (the binary is static), both settings files are
// conffiles.
func TestDebMetadata(t *testing.T) {
	need(t, "dpkg-deb")
	deb := debPath(t)
	for field, want := range map[string]string{
		"Package": "dnslb", "Version": testVersion, "Architecture": runtime.GOARCH,
		"Maintainer": "dnslb tests <tests@example.com>", "Homepage": "https://github.com/dnslb/dnslb",
		"Section": "net", "Depends": "",
	} {
		if got := strings.TrimSpace(runOut(t, "dpkg-deb", "-f", deb, field)); got != want {
			t.Errorf("%s: %q, want %q", field, got, want)
		}
	}
	info := runOut(t, "dpkg-deb", "-I", deb)
	for _, want := range []string{"conffiles", "postinst", "prerm", "postrm", "Description: weighted DNS load balancing"} {
		if !strings.Contains(info, want) {
			t.Errorf("dpkg-deb -I has no %q:\n%s", want, info)
		}
	}
	conffiles := runOut(t, "sh", "-c", `dpkg-deb --ctrl-tarfile "$0" | tar -xOf - ./conffiles`, deb)
	if got, want := conffiles, "/etc/default/dnslb\n/etc/default/dnslb-agent\n"; got != want {
		t.Errorf("conffiles %q, want %q", got, want)
	}
}

// TestDebContents: dpkg-deb -c lists exactly the expected files, owned by
// root, the binary executable.
func TestDebContents(t *testing.T) {
	need(t, "dpkg-deb")
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(runOut(t, "dpkg-deb", "-c", debPath(t))), "\n") {
		f := strings.Fields(line)
		if len(f) < 6 || strings.HasPrefix(f[0], "d") {
			continue
		}
		path := strings.TrimPrefix(f[5], ".")
		got = append(got, path)
		if f[1] != "root/root" {
			t.Errorf("%s owned by %s", path, f[1])
		}
		if path == "/usr/bin/dnslb" && f[0] != "-rwxr-xr-x" {
			t.Errorf("%s has mode %s", path, f[0])
		}
	}
	want := append(slices.Clone(packaged), "/usr/share/doc/dnslb/copyright")
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("files:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// extracted unpacks the .deb into a temporary root with dpkg-deb -x.
func extracted(t *testing.T) string {
	t.Helper()
	need(t, "dpkg-deb")
	root := t.TempDir()
	runOut(t, "dpkg-deb", "-x", debPath(t), root)
	return root
}

// TestDebBinaryServes: the packaged binary says its version and commit,
// then serves a zone from a temporary data directory and answers a real
// DNS query over UDP.
func TestDebBinaryServes(t *testing.T) {
	root := extracted(t)
	bin := filepath.Join(root, "usr/bin/dnslb")
	built(t)
	if got, want := runOut(t, bin, "version"), "dnslb "+testVersion+" (commit "+dist.commit; !strings.HasPrefix(got, want) {
		t.Errorf("version: %q, want it to start with %q", got, want)
	}
	addr := startServe(t, bin, "serve", "--data", t.TempDir(), "--dns", "127.0.0.1:0", "--api", "127.0.0.1:0", "--demo")
	m := new(dns.Msg)
	m.SetQuestion("www.lb.test.", dns.TypeA)
	r, _, err := (&dns.Client{Timeout: 5 * time.Second}).Exchange(m, addr)
	if err != nil {
		t.Fatalf("query www.lb.test A at %s: %v", addr, err)
	}
	if r.Rcode != dns.RcodeSuccess || !r.Authoritative || len(r.Answer) != 1 {
		t.Fatalf("answer: %v", r)
	}
	if a, ok := r.Answer[0].(*dns.A); !ok || !strings.HasPrefix(a.A.String(), "127.0.1.") {
		t.Errorf("answer %v, want one of the demo's 127.0.1.x", r.Answer[0])
	}
}

var servingLine = regexp.MustCompile(`msg="dnslb serving" dns=(\S+)`)

// startServe starts bin with args, waits for its serving line and returns
// its DNS address; it is stopped with SIGKILL when the test ends.
func startServe(t *testing.T, bin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-exited })
	found := make(chan string, 1)
	var log strings.Builder // written by the scanner until found or exited
	go func() {
		defer close(exited)
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			if m := servingLine.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			} else if len(found) == 0 {
				log.WriteString(sc.Text() + "\n")
			}
		}
		_ = cmd.Wait()
	}()
	select {
	case addr := <-found:
		return addr
	case <-exited:
		t.Fatalf("dnslb serve exited:\n%s", log.String())
	case <-time.After(60 * time.Second):
		t.Fatal("dnslb serve did not start within 60s")
	}
	return ""
}

// TestDebUnitsVerify: systemd-analyze verify accepts the packaged units
// in the extracted root, with the host's own units (the targets they
// name) beside them, and their ExecStart is the packaged binary.
func TestDebUnitsVerify(t *testing.T) {
	analyze := need(t, "systemd-analyze")
	root := extracted(t)
	runOut(t, "cp", "-a", "/usr/lib/systemd/system", filepath.Join(root, "usr/lib/systemd/"))
	for _, unit := range []string{"dnslb.service", "dnslb-agent.service"} {
		data, err := os.ReadFile(filepath.Join(root, "usr/lib/systemd/system", unit))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(data), "ExecStart=/usr/bin/dnslb ") {
			t.Errorf("%s: ExecStart is not /usr/bin/dnslb", unit)
		}
		out, err := exec.Command(analyze, "verify", "--root="+root, unit).CombinedOutput()
		if err != nil || len(out) != 0 {
			t.Errorf("systemd-analyze verify %s: %v\n%s", unit, err, out)
		}
	}
}

// TestDebCompletionWorks: the packaged bash completion completes.
func TestDebCompletionWorks(t *testing.T) {
	root := extracted(t)
	script := filepath.Join(root, "usr/share/bash-completion/completions/dnslb")
	out := runOut(t, "bash", "--norc", "-c", `source "$0"; COMP_WORDS=(dnslb record set --we); COMP_CWORD=3; _dnslb; echo "${COMPREPLY[*]}"`, script)
	if strings.TrimSpace(out) != "--weight" {
		t.Errorf("dnslb record set --we<TAB>: %q, want --weight", out)
	}
}

// TestRPM: rpm -qip reads the metadata; the file list, the config files
// and the scriptlets are as for the .deb.
func TestRPM(t *testing.T) {
	need(t, "rpm")
	arch := map[string]string{"amd64": "x86_64", "arm64": "aarch64"}[runtime.GOARCH]
	rpm := filepath.Join(built(t), "dnslb-"+testVersion+"-1."+arch+".rpm")
	info := runOut(t, "rpm", "-qip", rpm)
	for _, want := range []string{"Name        : dnslb", "Version     : " + testVersion, "Release     : 1",
		"Architecture: " + arch, "License     : Apache-2.0", "URL         : https://github.com/dnslb/dnslb"} {
		if !strings.Contains(info, want+"\n") {
			t.Errorf("rpm -qip has no %q:\n%s", want, info)
		}
	}
	want := append(slices.Clone(packaged), "/usr/share/licenses/dnslb/LICENSE")
	slices.Sort(want)
	if got := strings.Fields(runOut(t, "rpm", "-qlp", rpm)); !slices.Equal(got, want) {
		t.Errorf("rpm -qlp:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got, want := runOut(t, "rpm", "-qcp", rpm), "/etc/default/dnslb\n/etc/default/dnslb-agent\n"; got != want {
		t.Errorf("rpm -qcp: %q, want %q", got, want)
	}
	if requires := runOut(t, "rpm", "-qRp", rpm); strings.Contains(requires, "lib") {
		t.Errorf("the rpm requires libraries:\n%s", requires)
	}
	scripts := runOut(t, "rpm", "-qp", "--scripts", rpm)
	for _, want := range []string{"postinstall scriptlet", "preuninstall scriptlet", "postuninstall scriptlet"} {
		if !strings.Contains(scripts, want) {
			t.Errorf("rpm --scripts has no %s:\n%s", want, scripts)
		}
	}
}

// TestArchive: the archive holds dnslb and deploy/ at the top level (what
// deploy/ec2/user-data.sh unpacks) and SHA256SUMS verifies every artefact.
func TestArchive(t *testing.T) {
	dir := built(t)
	name := "dnslb_" + testVersion + "_linux_" + runtime.GOARCH + ".tar.gz"
	list := strings.Fields(runOut(t, "tar", "-tzf", filepath.Join(dir, name)))
	for _, want := range []string{"dnslb", "deploy/systemd/dnslb-agent.service", "deploy/systemd/dnslb.service",
		"LICENSE", "README.md", "man/dnslb.1", "completions/dnslb.bash", "completions/_dnslb", "completions/dnslb.fish"} {
		if !slices.Contains(list, want) {
			t.Errorf("%s has no %s: %v", name, want, list)
		}
	}
	cmd := exec.Command("sha256sum", "-c", "SHA256SUMS")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil || strings.Count(string(out), ": OK") != 3 {
		t.Errorf("sha256sum -c (want 3 OK): %v\n%s", err, out)
	}
}

// TestScriptsShellcheck: the maintainer scripts pass shellcheck as POSIX
// sh (dpkg and rpm run them with /bin/sh).
func TestScriptsShellcheck(t *testing.T) {
	sc := need(t, "shellcheck")
	paths, _ := filepath.Glob("scripts/*.sh")
	if out, err := exec.Command(sc, append([]string{"-s", "sh"}, paths...)...).CombinedOutput(); err != nil || len(paths) != 3 {
		t.Errorf("shellcheck %v: %v\n%s", paths, err, out)
	}
}

// TestMaintainerScripts runs the scripts as dpkg and rpm call them, with
// a systemctl that only logs and a stand-in for /run/systemd/system: a
// first install enables and starts nothing, an upgrade restarts the server
// only, a removal stops and disables both, and without systemd they do
// nothing.
func TestMaintainerScripts(t *testing.T) {
	for _, tc := range []struct {
		script  string
		args    []string
		systemd bool
		want    string
	}{
		{"postinstall", []string{"configure", ""}, true, "daemon-reload\n"},
		{"postinstall", []string{"configure", "0.1.0"}, true, "daemon-reload\ntry-restart dnslb.service\n"},
		{"postinstall", []string{"1"}, true, "daemon-reload\n"},
		{"postinstall", []string{"2"}, true, "daemon-reload\ntry-restart dnslb.service\n"},
		{"postinstall", []string{"configure", "0.1.0"}, false, ""},
		{"preremove", []string{"remove"}, true, "disable --now dnslb-agent.service dnslb.service\n"},
		{"preremove", []string{"0"}, true, "disable --now dnslb-agent.service dnslb.service\n"},
		{"preremove", []string{"upgrade", "0.2.0"}, true, ""},
		{"preremove", []string{"1"}, true, ""},
		{"preremove", []string{"remove"}, false, ""},
		{"postremove", []string{"purge"}, true, "daemon-reload\n"},
		{"postremove", []string{"0"}, false, ""},
	} {
		t.Run(tc.script+" "+strings.Join(tc.args, " "), func(t *testing.T) {
			if got := runScript(t, tc.script, tc.systemd, tc.args...); got != tc.want {
				t.Errorf("systemctl calls %q, want %q", got, tc.want)
			}
		})
	}
}

// runScript runs scripts/NAME.sh with sh and returns what it asked of
// systemctl, one call a line.
func runScript(t *testing.T, name string, systemd bool, args ...string) string {
	t.Helper()
	dir := t.TempDir()
	running := filepath.Join(dir, "run-systemd-system")
	if systemd {
		if err := os.Mkdir(running, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(filepath.Join("scripts", name+".sh"))
	if err != nil {
		t.Fatal(err)
	}
	script := strings.ReplaceAll(string(data), "/run/systemd/system", running)
	if script == string(data) {
		t.Fatalf("%s.sh does not test /run/systemd/system", name)
	}
	log := filepath.Join(dir, "log")
	stub := "#!/bin/sh\necho \"$*\" >>" + log + "\n"
	for path, content := range map[string]string{filepath.Join(dir, "script"): script, filepath.Join(dir, "bin", "systemctl"): stub} {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("sh", append([]string{filepath.Join(dir, "script")}, args...)...)
	cmd.Env = append(os.Environ(), "PATH="+filepath.Join(dir, "bin")+":/usr/bin:/bin")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sh %s.sh %v: %v\n%s", name, args, err, out)
	}
	got, _ := os.ReadFile(log)
	return string(got)
}
