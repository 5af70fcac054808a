package cli_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const userData = "deploy/ec2/user-data.sh"

// Stubs put first on the user data's PATH: they log their arguments and
// stand in for the instance's systemd, its architecture and the release
// download (curl copies from $RELEASES instead of fetching).
var userDataStubs = map[string]string{
	"systemctl": `#!/bin/sh
echo "systemctl $*" >>"$STUB_LOG"
`,
	"uname": `#!/bin/sh
[ "$1" = -m ] && { echo "$STUB_ARCH"; exit 0; }
exec /bin/uname "$@"
`,
	"curl": `#!/bin/sh
out= url=
while [ $# -gt 0 ]; do
    case "$1" in
        -o) out=$2; shift ;;
        https://*) url=$1 ;;
    esac
    shift
done
echo "curl $url" >>"$STUB_LOG"
[ -f "$RELEASES/${url##*/}" ] || exit 22
cp "$RELEASES/${url##*/}" "$out"
`,
}

// userDataRun is one run of the user data in a temporary root.
type userDataRun struct {
	root, log string
	out       string
	err       error
}

// runUserData runs the user data with the stubs, the release files in
// releases, and arch as `uname -m`.
func runUserData(t *testing.T, releases, arch string) userDataRun {
	t.Helper()
	stubs, root := t.TempDir(), t.TempDir()
	for name, body := range userDataStubs {
		writeFile(t, filepath.Join(stubs, name), body, 0o755)
	}
	r := userDataRun{root: root, log: filepath.Join(t.TempDir(), "log")}
	cmd := exec.Command("bash", filepath.Join("..", "..", userData))
	cmd.Env = append(os.Environ(), "PATH="+stubs+":"+os.Getenv("PATH"), "DNSLB_ROOT="+root,
		"STUB_LOG="+r.log, "STUB_ARCH="+arch, "RELEASES="+releases)
	out, err := cmd.CombinedOutput()
	r.out, r.err = string(out), err
	return r
}

func (r userDataRun) calls(t *testing.T) string {
	b, err := os.ReadFile(r.log)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return string(b)
}

// fakeRelease writes the release files of version the user data expects:
// an archive per architecture (the binary and deploy/) and SHA256SUMS.
func fakeRelease(t *testing.T, version string, binaries map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	var sums strings.Builder
	for arch, bin := range binaries {
		name := fmt.Sprintf("dnslb_%s_linux_%s.tar.gz", version, arch)
		archive := tarGz(t, map[string][]byte{"dnslb": bin,
			"deploy/systemd/dnslb-agent.service": []byte(repoFile(t, agentUnit))})
		writeFile(t, filepath.Join(dir, name), string(archive), 0o644)
		fmt.Fprintf(&sums, "%x  %s\n", sha256.Sum256(archive), name)
	}
	writeFile(t, filepath.Join(dir, "SHA256SUMS"), sums.String(), 0o644)
	return dir
}

func tarGz(t *testing.T, files map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for name, b := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, Size: int64(len(b))}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestUserDataScripts: the shell scripts parse, and shellcheck (when
// installed; .ci/run installs it) has nothing to say.
func TestUserDataScripts(t *testing.T) {
	scripts := []string{filepath.Join("..", "..", userData), filepath.Join("..", "..", "deploy/sysv/dnslb-agent")}
	if out, err := exec.Command("bash", "-n", scripts[0]).CombinedOutput(); err != nil {
		t.Errorf("bash -n %s: %v\n%s", userData, err, out)
	}
	if _, err := exec.LookPath("shellcheck"); err != nil {
		t.Skip("shellcheck not installed (apt-get install shellcheck); .ci/run installs it")
	}
	if out, err := exec.Command("shellcheck", scripts...).CombinedOutput(); err != nil {
		t.Errorf("shellcheck: %v\n%s", err, out)
	}
}

// TestUserData runs the EC2 user data in a temporary root: it downloads
// the pinned release for the machine's architecture, checks it, installs
// the binary, the unit, the settings and the application drop-in, and
// starts the agent without waiting for it, all the way through set -e.
func TestUserData(t *testing.T) {
	m := regexp.MustCompile(`\nDNSLB_VERSION=(\S+)`).FindStringSubmatch(repoFile(t, userData))
	if m == nil {
		t.Fatal("the user data pins no DNSLB_VERSION")
	}
	version, bin := m[1], releaseBinary(t)
	amd64, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	releases := fakeRelease(t, version, map[string][]byte{"amd64": amd64, "arm64": []byte("arm64 binary")})

	r := runUserData(t, releases, "x86_64")
	if r.err != nil {
		t.Fatalf("user data: %v\n%s", r.err, r.out)
	}
	base := "https://github.com/dnslb/dnslb/releases/download/v" + version + "/"
	want := "curl " + base + "dnslb_" + version + "_linux_amd64.tar.gz\ncurl " + base + "SHA256SUMS\n" +
		"systemctl daemon-reload\nsystemctl enable --now --no-block dnslb-agent.service\n"
	if got := r.calls(t); got != want {
		t.Errorf("calls:\n%s\nwant:\n%s", got, want)
	}
	r.checkFile(t, unitBinary, string(amd64), 0o755)
	r.checkFile(t, unitDir+"/dnslb-agent.service", repoFile(t, agentUnit), 0o644)
	r.checkContains(t, "etc/default/dnslb-agent", "\nDNSLB_OPTS=\"--lease 15s --complete-lifecycle-hook drain --asg-name web-asg\"\n")
	r.checkContains(t, unitDir+"/dnslb-agent.service.d/app.conf", "[Unit]\nAfter=app.service\nWants=app.service\nPartOf=app.service\n")
	if _, err := exec.LookPath("systemd-analyze"); err == nil { // what it installed is a valid unit
		copySystemUnits(t, r.root)
		verifyUnit(t, r.root)
	}

	arm := runUserData(t, releases, "aarch64")
	if arm.err != nil {
		t.Fatalf("user data on arm64: %v\n%s", arm.err, arm.out)
	}
	arm.checkFile(t, unitBinary, "arm64 binary", 0o755)
}

// TestUserDataRefuses: a wrong checksum or an unknown architecture stops
// the user data before it installs or starts anything.
func TestUserDataRefuses(t *testing.T) {
	m := regexp.MustCompile(`\nDNSLB_VERSION=(\S+)`).FindStringSubmatch(repoFile(t, userData))
	if m == nil {
		t.Fatal("the user data pins no DNSLB_VERSION")
	}
	releases := fakeRelease(t, m[1], map[string][]byte{"amd64": []byte("amd64 binary")})
	for _, tc := range []struct{ name, arch, sums, want string }{
		{"wrong checksum", "x86_64", strings.Repeat("0", 64) + "  dnslb_" + m[1] + "_linux_amd64.tar.gz\n", "FAILED"},
		{"not in SHA256SUMS", "x86_64", strings.Repeat("0", 64) + "  other.tar.gz\n", "dnslb: dnslb_" + m[1] + "_linux_amd64.tar.gz is not listed in SHA256SUMS\n"},
		{"unknown architecture", "mips", "", "dnslb: no release for mips\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.sums != "" {
				writeFile(t, filepath.Join(releases, "SHA256SUMS"), tc.sums, 0o644)
			}
			r := runUserData(t, releases, tc.arch)
			if r.err == nil || !strings.Contains(r.out, tc.want) {
				t.Errorf("user data: %v, want a failure saying %q:\n%s", r.err, tc.want, r.out)
			}
			if _, err := os.Stat(filepath.Join(r.root, unitBinary)); !os.IsNotExist(err) {
				t.Errorf("installed the binary anyway (%v)", err)
			}
			if calls := r.calls(t); strings.Contains(calls, "systemctl") {
				t.Errorf("called systemctl:\n%s", calls)
			}
		})
	}
}

func (r userDataRun) checkFile(t *testing.T, rel, want string, mode os.FileMode) {
	t.Helper()
	path := filepath.Join(r.root, rel)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("user data did not write %s: %v\n%s", rel, err, r.out)
		return
	}
	if string(b) != want {
		t.Errorf("%s differs from what the release holds", rel)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != mode {
		t.Errorf("%s: mode %v (%v), want %v", rel, fi.Mode().Perm(), err, mode)
	}
}

func (r userDataRun) checkContains(t *testing.T, rel, want string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(r.root, rel))
	if err != nil || !strings.Contains(string(b), want) {
		t.Errorf("%s (%v) lacks %q:\n%s", rel, err, want, b)
	}
}
