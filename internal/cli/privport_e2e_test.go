//go:build unix

package cli_test

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestServePrivilegedPortWithoutCapability: `serve --dns 127.0.0.1:53` run
// as an unprivileged user (no CAP_NET_BIND_SERVICE) exits 1 with a message
// that says how to get the capability or which ports need none.
func TestServePrivilegedPortWithoutCapability(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run the server as another user")
	}
	bin := worldExecutable(t)
	data := worldDir(t) // t.TempDir's parent is private to root
	if err := os.Chmod(data, 0o777); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "serve", "--dns", "127.0.0.1:53", "--api", "127.0.0.1:0",
		"--data", filepath.Join(data, "d"))
	cmd.Env = append(os.Environ(), "DNSLB_TEST_MAIN=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, _ := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("serve kept running:\n%s", out)
	}
	if code := cmd.ProcessState.ExitCode(); code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	want := "dnslb: dns: listen udp 127.0.0.1:53: bind: permission denied\n" +
		"Binding port 53 needs CAP_NET_BIND_SERVICE: run as root, under the shipped dnslb.service " +
		"(AmbientCapabilities=CAP_NET_BIND_SERVICE), or `setcap cap_net_bind_service=+ep /usr/local/bin/dnslb`; " +
		"or choose a port ≥ 1024\n"
	if got := string(out); !strings.HasSuffix(got, want) { // after the log line saying which store opened
		t.Errorf("serve output:\n%s\nwant:\n%s", got, want)
	}
}

// worldExecutable copies the test binary (in go test's private work
// directory) to a directory any user may enter, so that it can be run as
// another user.
func worldExecutable(t *testing.T) string {
	t.Helper()
	dir := worldDir(t)
	src, err := os.Open(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	bin := filepath.Join(dir, "dnslb")
	dst, err := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	return bin
}

// worldDir makes a directory, removed at the end of the test, that any
// user may enter.
func worldDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "dnslb-world")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}
