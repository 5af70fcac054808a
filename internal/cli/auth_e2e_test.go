package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dnslb/dnslb/internal/auth"
)

// TestServeRefusesOpenAPIOffLoopback: without --tokens, serve refuses an
// API address others can reach (wildcards included), says why and what to
// do, and writes nothing.
func TestServeRefusesOpenAPIOffLoopback(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:5380", "[::]:5380", ":5380", "192.0.2.10:5380", "dnslb.example.com:5380"} {
		data := filepath.Join(t.TempDir(), "data")
		out, errOut, code := runMain("serve", "--api", addr, "--dns", "127.0.0.1:0", "--data", data)
		want := "dnslb: --api " + addr + " is not a loopback address, and without --tokens anyone who reaches the API could change or delete every record set. " +
			"Give --tokens FILE (make tokens with 'dnslb token create'), or keep --api on 127.0.0.1 or [::1], or add --insecure-api if a firewall already keeps everyone else out\n"
		if code != 2 || errOut != want || out != "" {
			t.Errorf("serve --api %s: exit %d, stderr %q", addr, code, errOut)
		}
		if _, err := os.Stat(data); !os.IsNotExist(err) {
			t.Errorf("serve --api %s created its data directory", addr)
		}
	}
}

// TestTokenCreate: the token is printed once with the line for the
// tokens file, which holds its hash only.
func TestTokenCreate(t *testing.T) {
	out, errOut, code := runMain("token", "create", "--name", "web-pool", "--scope", "register", "--names", "www.lb.test", "--names", "*.pool.lb.test")
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	fields := strings.Fields(out)
	var secret, line string
	for i, f := range fields {
		if strings.HasPrefix(f, auth.TokenPrefix) {
			secret = f
		}
		if f == "web-pool" && i+2 < len(fields) && strings.HasPrefix(fields[i+2], "sha256:") {
			line = strings.Join(fields[i:i+3], " ")
		}
	}
	if line != "web-pool register:www.lb.test,*.pool.lb.test "+auth.Hash(secret) || strings.Count(out, secret) != 1 {
		t.Fatalf("output:\n%s", out)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--scope", "read", "--names", "www.x"}, "dnslb: --names, --set-id and --own-set are for --scope register; a read token has no limits on names\n"},
		{[]string{"--scope", "register"}, "dnslb: --scope register needs --names, e.g. --names www.lb.example.com --names '*.pool.lb.example.com'\n"},
		{[]string{"--scope", "register", "--names", "a.*.x"}, "dnslb: --names \"a.*.x\": a * is allowed only as the whole first label (*.pool.lb.example.com)\n"},
		{[]string{"--scope", "register", "--names", "x", "--set-id", "i", "--own-set"}, "dnslb: --set-id and --own-set can't be used together\nRun 'dnslb token create --help' for usage.\n"},
	} {
		_, errOut, code := runMain(append([]string{"token", "create", "--name", "n"}, tc.args...)...)
		if code != 2 || errOut != tc.want {
			t.Errorf("%v: exit %d, %q; want %q", tc.args, code, errOut, tc.want)
		}
	}
}

// newToken makes a token with the CLI and returns its secret and line.
func newToken(t *testing.T, args ...string) (secret, line string) {
	t.Helper()
	out, errOut, code := runMain(append([]string{"--json", "token", "create"}, args...)...)
	var v struct{ Token, Line string }
	if err := json.Unmarshal([]byte(out), &v); code != 0 || err != nil {
		t.Fatalf("token create: exit %d, %v: %s", code, err, errOut)
	}
	return v.Token, v.Line
}

// TestTokensEndToEnd: a server with --tokens refuses callers without one;
// the CLI and the agent send theirs (--token-file, DNSLB_TOKEN); an
// instance holding the pool's token cannot remove another's set; the
// audit log names tokens; SIGHUP reloads the file without a restart.
func TestTokensEndToEnd(t *testing.T) {
	dir := t.TempDir()
	admin, adminLine := newToken(t, "--name", "ops", "--scope", "admin")
	pool, poolLine := newToken(t, "--name", "web-pool", "--scope", "register", "--names", "www.lb.test")
	reader, readLine := newToken(t, "--name", "grafana", "--scope", "read")
	tokens := filepath.Join(dir, "tokens")
	write := func(path, s string) {
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(tokens, "# dnslb tokens\n"+adminLine+"\n"+poolLine+"\n")
	adminFile, poolFile := filepath.Join(dir, "admin"), filepath.Join(dir, "pool")
	write(adminFile, admin+"\n")
	write(poolFile, pool+"\n")
	s := startServer(t, "127.0.0.31", filepath.Join(dir, "data"), "--zone", "lb.test", "--tokens", tokens)

	if _, errOut, code := s.try("zone", "ls"); code != 1 || !strings.Contains(errOut, "(unauthenticated)") {
		t.Errorf("zone ls without a token: exit %d, %s", code, errOut)
	}
	s.run(t, "--token-file", adminFile, "zone", "ls")
	a := startAgent(t, nil, "--server", "http://"+s.api, "--token-file", poolFile, "--zone", "lb.test", "--name", "www",
		"--identity", "static", "--set-id", "i-1", "--address", "127.0.1.1", "--lease", "15s")
	eventually(t, 30*time.Second, "the agent registered", func() bool {
		out, _, _ := s.try("--token-file", adminFile, "record", "ls", "lb.test")
		return strings.Contains(out, "i-1")
	})
	t.Setenv("DNSLB_TOKEN", pool)
	_, errOut, code := s.try("record", "rm", "lb.test", "www", "A", "--set-id", "i-1")
	if want := "belongs to the registration that created it"; code != 1 || !strings.Contains(errOut, want) || !strings.Contains(errOut, "(permission_denied)") {
		t.Errorf("another instance with the pool token removes the agent's set: exit %d, %s", code, errOut)
	}
	_, errOut, code = s.try("record", "health", "lb.test", "www", "A", "--set-id", "i-1", "--force", "down")
	if code != 1 || !strings.Contains(errOut, "needs a token with scope admin") {
		t.Errorf("the pool token forces the agent's set down: exit %d, %s", code, errOut)
	}
	t.Setenv("DNSLB_TOKEN", "")
	if err := a.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	a.waitExit(t, 60*time.Second)

	// Reload: the reader's token added, the admin's removed.
	write(tokens, poolLine+"\n"+readLine+"\n")
	if err := s.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the new tokens file in use", func() bool {
		_, _, code := s.try("--token", reader, "zone", "ls")
		return code == 0
	})
	if _, errOut, code := s.try("--token-file", adminFile, "zone", "ls"); code != 1 || !strings.Contains(errOut, "(unauthenticated)") {
		t.Errorf("a removed token after SIGHUP: exit %d, %s", code, errOut)
	}
	logs := s.stderr.String()
	for _, want := range []string{"token=web-pool", `method=DELETE path=/v1/zones/lb.test/rrsets/www/A status=403`, "status=403", "SIGHUP: reloaded the API's tokens and certificate"} {
		if !strings.Contains(logs, want) {
			t.Errorf("server log lacks %q:\n%s", want, logs)
		}
	}
}
