package cli

import (
	"bytes"
	"context"
	"github.com/alecthomas/kong"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a log buffer safe to read while serve writes it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestServeEndsWhenAComponentFails breaks the API listener under a
// running server: serve must end with the API's error, not keep running
// without its API.
func TestServeEndsWhenAComponentFails(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.16:0")
	if err != nil {
		t.Fatal(err)
	}
	var log lockedBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	g := &Globals{ctx: ctx, stdout: &log, stderr: &log}
	c := parseServe(t, "--dns", "127.0.0.16:0", "--api", ln.Addr().String(), "--data", t.TempDir(),
		"--restart-grace", "1s", "--drain-margin", "1s", "--shutdown", "1s")
	c.apiListener = ln
	done := make(chan error, 1)
	go func() { done <- c.Run(g) }()
	for { // until the API answers
		resp, err := (&http.Client{Timeout: time.Second}).Get("http://" + ln.Addr().String() + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		select {
		case err := <-done:
			t.Fatalf("serve ended before serving: %v\n%s", err, log.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	ln.Close() // accept fails from now on
	select {
	case err := <-done:
		if want := "api: accept tcp"; err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("serve returned %v; want an error starting %q", err, want)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("serve kept running after its API listener failed:\n%s", log.String())
	}
	if !strings.Contains(log.String(), "a component failed; shutting down") {
		t.Errorf("log:\n%s", log.String())
	}
}

// parseServe is serve's command as the command line args give it, with
// every default of its flags.
func parseServe(t *testing.T, args ...string) *ServeCmd {
	t.Helper()
	var cli root
	parser, err := kong.New(&cli, kong.Vars{"version": "test"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := parser.Parse(append([]string{"serve"}, args...)); err != nil {
		t.Fatal(err)
	}
	return &cli.Serve
}
