package health

import (
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/dnslb/dnslb/internal/record"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// backend is an HTTP(S) server on loopback whose answer the test switches.
type backend struct {
	srv     *httptest.Server
	handler atomic.Pointer[http.HandlerFunc]
	stop    chan struct{} // closed at cleanup: releases slow handlers
	started chan struct{} // a slow handler sends here when it starts
}

// newBackend starts a backend on addr (e.g. "127.0.0.2:0"), with TLS (a
// self-signed certificate) when tls is set. It answers 200 until set.
func newBackend(t *testing.T, addr string, tls bool) *backend {
	t.Helper()
	b := &backend{stop: make(chan struct{}), started: make(chan struct{}, 16)}
	b.set(status(http.StatusOK))
	b.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		(*b.handler.Load())(w, r)
	}))
	b.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // expected TLS handshake failures
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	b.srv.Listener.Close()
	b.srv.Listener = ln
	if tls {
		b.srv.StartTLS()
	} else {
		b.srv.Start()
	}
	t.Cleanup(b.srv.Close)
	t.Cleanup(func() { close(b.stop) }) // runs first
	return b
}

// set makes h the backend's answer from now on.
func (b *backend) set(h http.HandlerFunc) { b.handler.Store(&h) }

// slow answers only when the client goes away or the test ends.
func (b *backend) slow(w http.ResponseWriter, r *http.Request) {
	b.started <- struct{}{}
	select {
	case <-r.Context().Done():
	case <-b.stop:
	}
}

// status answers code.
func status(code int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(code) }
}

// body answers 200 with s.
func body(s string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(s)) }
}

// normalized returns the check of target, changed by edit, normalized for
// the agent (exec allowed).
func normalized(t *testing.T, target string, edit func(*record.Check)) record.Check {
	t.Helper()
	c := record.Check{Target: target}
	if edit != nil {
		edit(&c)
	}
	if err := c.Normalize(true); err != nil {
		t.Fatalf("Normalize(%q): %v", target, err)
	}
	return c
}

// timeout sets the check's timeout (and an interval that allows it).
func timeout(d time.Duration) func(*record.Check) {
	return func(c *record.Check) {
		c.Timeout, c.Interval = record.Duration(d), record.Duration(max(d, time.Second))
	}
}

// probe builds the prober of c and runs it once.
func probe(t *testing.T, c record.Check) error {
	t.Helper()
	p, err := NewProber(c)
	if err != nil {
		t.Fatalf("NewProber: %v", err)
	}
	return p(t.Context(), nil)
}

// errText is err's message, "" for nil.
func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
