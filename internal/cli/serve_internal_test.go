package cli

import (
	"bytes"
	"context"
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
	c := &ServeCmd{DNS: "127.0.0.16:0", API: ln.Addr().String(), Heartbeat: "dns", Data: t.TempDir(),
		LeaseGrace: time.Minute, RestartGrace: time.Second, BrakeShare: 0.5, DrainMargin: time.Second,
		Shutdown: time.Second, LogLevel: "info", LogFormat: "text", apiListener: ln}
	done := make(chan error, 1)
	go func() { done <- c.Run(g) }()
	for { // until the API answers
		resp, err := http.Get("http://" + ln.Addr().String() + "/healthz")
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
