package cli_test

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// releaseBuild is the release build command the README documents; the
// tests build the binary they run the deploy files with by it.
const releaseBuild = `CGO_ENABLED=0 GOOS=linux GOARCH=$ARCH go build -trimpath ` +
	`-ldflags "-s -w -X github.com/dnslb/dnslb/internal/cli.Version=$VERSION" -o dnslb ./cmd/dnslb`

// releaseVersion is the version the tests stamp into their release build.
const releaseVersion = "0.0.0-test"

// releaseBinary builds ./cmd/dnslb into a temporary directory with the
// README's release build command and returns its path.
func releaseBinary(t *testing.T) string {
	t.Helper()
	if !strings.Contains(repoFile(t, "README.md"), releaseBuild) {
		t.Fatalf("the README does not document the release build:\n%s", releaseBuild)
	}
	bin := filepath.Join(t.TempDir(), "dnslb")
	cmd := exec.Command("/bin/sh", "-c", strings.Replace(releaseBuild, "-o dnslb", `-o "$OUT"`, 1))
	cmd.Dir = filepath.Join("..", "..")
	cmd.Env = append(os.Environ(), "ARCH="+runtime.GOARCH, "VERSION="+releaseVersion, "OUT="+bin)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("release build: %v\n%s", err, out)
	}
	return bin
}

// TestReleaseBinaryIsStatic: the release binary needs no dynamic loader
// and no shared library, so it runs on Amazon Linux 2 (glibc 2.26) as on
// AL2023 and Ubuntu; and it carries its version.
func TestReleaseBinaryIsStatic(t *testing.T) {
	bin := releaseBinary(t)
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("the release binary has a %s program header: it is dynamically linked", p.Type)
		}
	}
	if libs, err := f.ImportedLibraries(); err != nil || len(libs) != 0 {
		t.Errorf("the release binary needs shared libraries %v (%v)", libs, err)
	}
	out, err := exec.Command(bin, "version").CombinedOutput()
	if got, want := strings.TrimSpace(string(out)), "dnslb "+releaseVersion+" ("; err != nil || !strings.HasPrefix(got, want) {
		t.Errorf("%s version: %q (%v), want it to start with %q", bin, got, err, want)
	}
}
