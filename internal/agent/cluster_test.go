package agent

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dnslb/dnslb/internal/api"
	"github.com/dnslb/dnslb/internal/api/client"
	"github.com/dnslb/dnslb/internal/heartbeat"
	"github.com/dnslb/dnslb/internal/registry"
	"github.com/dnslb/dnslb/internal/store/boltstore"
)

// testRegistry runs a real registry over a bolt file, with zone lb.test.
func testRegistry(t *testing.T) *registry.Registry {
	t.Helper()
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "dnslb.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	reg := registry.New(st, registry.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- reg.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		st.Close()
	})
	<-reg.Ready()
	if err := reg.EnsureZone(context.Background(), "lb.test"); err != nil {
		t.Fatal(err)
	}
	return reg
}

// node is one dnslb server in front of a shared registry (as the servers
// of an etcd cluster share one state): its HTTP API and its heartbeat
// socket, which counts the heartbeats it answered.
type node struct {
	url    string
	beats  atomic.Int64
	hb     *heartbeat.Server
	stopHB func()
}

// startNode serves the API of reg on a loopback port, with heartbeats on a
// socket of its own.
func startNode(t *testing.T, reg *registry.Registry) *node {
	t.Helper()
	n := &node{}
	h := heartbeat.NewHandler(heartbeat.Config{Renew: func(q heartbeat.Request) heartbeat.Result {
		n.beats.Add(1)
		return reg.Beat(q)
	}})
	n.hb = heartbeat.NewServer("127.0.0.1:0", h)
	if err := n.hb.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.hb.Run(ctx) }()
	var once sync.Once
	n.stopHB = func() { once.Do(func() { cancel(); <-done }) }
	srv := httptest.NewServer(api.New(api.Config{Registry: reg, Heartbeat: n.hb.Addr()}))
	n.url = srv.URL
	t.Cleanup(func() { srv.Close(); n.stopHB() })
	return n
}

// mode is what a gate does with connections.
type mode int32

const (
	open mode = iota // forward to the target
	down             // accept and close at once (a refused connection)
	hole             // accept and never answer (a hung or black-holed server)
)

// gate is a real TCP listener in front of a server that can be opened,
// closed or turned into a black hole. Switching closes every connection it
// holds, so keep-alive connections follow the switch.
type gate struct {
	ln     net.Listener
	target string
	mode   atomic.Int32
	mu     sync.Mutex
	conns  map[net.Conn]bool
	wg     sync.WaitGroup
}

func newGate(t *testing.T, target string, m mode) *gate {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := &gate{ln: ln, target: strings.TrimPrefix(target, "http://"), conns: map[net.Conn]bool{}}
	g.mode.Store(int32(m))
	g.wg.Add(1)
	go g.accept()
	t.Cleanup(func() {
		ln.Close()
		g.closeAll()
		g.wg.Wait()
	})
	return g
}

func (g *gate) url() string { return "http://" + g.ln.Addr().String() }

// set switches the mode and drops every connection.
func (g *gate) set(m mode) {
	g.mode.Store(int32(m))
	g.closeAll()
}

func (g *gate) closeAll() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for c := range g.conns {
		c.Close()
	}
	clear(g.conns)
}

func (g *gate) accept() {
	defer g.wg.Done()
	for {
		c, err := g.ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			continue
		}
		switch mode(g.mode.Load()) {
		case down:
			c.Close()
		case hole:
			g.track(c)
		case open:
			g.forward(c)
		}
	}
}

func (g *gate) track(cs ...net.Conn) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, c := range cs {
		g.conns[c] = true
	}
}

func (g *gate) forward(c net.Conn) {
	up, err := net.Dial("tcp", g.target)
	if err != nil {
		c.Close()
		return
	}
	g.track(c, up)
	g.wg.Add(2)
	pipe := func(dst, src net.Conn) {
		defer g.wg.Done()
		_, _ = io.Copy(dst, src)
		dst.Close()
		src.Close()
	}
	go pipe(up, c)
	go pipe(c, up)
}

// logs keeps the agent's log records and lets a test wait for one.
type logs struct {
	mu      sync.Mutex
	recs    []slog.Record
	changed chan struct{} // closed and replaced at each record
}

func newLogs() *logs { return &logs{changed: make(chan struct{})} }

func (l *logs) logger() *slog.Logger { return slog.New(logHandler{l}) }

// count is the number of records at level with message msg.
func (l *logs) count(level slog.Level, msg string) int {
	n := 0
	for _, r := range l.all() {
		if r.Level == level && r.Message == msg {
			n++
		}
	}
	return n
}

func (l *logs) all() []slog.Record {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]slog.Record(nil), l.recs...)
}

// wait waits until cond holds for the records so far.
func (l *logs) wait(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		l.mu.Lock()
		ch := l.changed
		l.mu.Unlock()
		if cond() {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("timed out waiting for %s; log:\n%s", what, l)
		}
	}
}

func (l *logs) String() string {
	var b strings.Builder
	for _, r := range l.all() {
		b.WriteString(r.Level.String() + " " + r.Message)
		r.Attrs(func(a slog.Attr) bool {
			b.WriteString(" " + a.String())
			return true
		})
		b.WriteString("\n")
	}
	return b.String()
}

// attr is the value of attribute key in r, as text.
func attr(r slog.Record, key string) string {
	var v string
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == key {
			v = a.Value.String()
			return false
		}
		return true
	})
	return v
}

type logHandler struct{ l *logs }

func (h logHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h logHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h logHandler) WithGroup(string) slog.Handler            { return h }
func (h logHandler) Handle(_ context.Context, r slog.Record) error {
	h.l.mu.Lock()
	defer h.l.mu.Unlock()
	h.l.recs = append(h.l.recs, r.Clone())
	close(h.l.changed)
	h.l.changed = make(chan struct{})
	return nil
}

// clients returns API clients for the given URLs.
func clients(t *testing.T, urls ...string) []*client.Client {
	t.Helper()
	var out []*client.Client
	for _, u := range urls {
		cl, err := client.New(u, nil)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, cl)
	}
	return out
}

// fastAgent is an agent for set i-1 at 127.0.0.41 with short timeouts and
// backoff, so that tests run in milliseconds.
func fastAgent(servers []*client.Client, log *slog.Logger) *Agent {
	return New(Config{Servers: servers, Zone: "lb.test", Name: "www", Weight: 10, TTL: 1, Lease: 3 * time.Second, Margin: 0,
		Identity: Static{SetID: "i-1", Address: "127.0.0.41"}, Logger: log, PollDrain: 50 * time.Millisecond,
		RequestTimeout: 500 * time.Millisecond, Backoff: Backoff{Min: 10 * time.Millisecond, Max: 80 * time.Millisecond}}) // a write fsyncs: under -race on a busy machine 100 ms was too short
}

// running is an agent's Run in a goroutine.
type running struct {
	drain  chan string
	cancel context.CancelFunc
	done   chan error
}

func run(t *testing.T, a *Agent) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{drain: make(chan string, 1), cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- a.Run(ctx, r.drain) }()
	t.Cleanup(func() { cancel(); <-r.done })
	return r
}

// wait waits for Run to return, at most timeout.
func (r *running) wait(t *testing.T, timeout time.Duration) (error, time.Duration) {
	t.Helper()
	start := time.Now()
	select {
	case err := <-r.done:
		r.done <- err // for the cleanup
		return err, time.Since(start)
	case <-time.After(timeout):
		t.Fatalf("Run did not return within %s", timeout)
		return nil, 0
	}
}

// registered reports whether set i-1 is in reg.
func registered(t *testing.T, reg *registry.Registry) bool {
	t.Helper()
	sets, err := reg.Sets(context.Background(), "lb.test", registry.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sets {
		if s.SetID == "i-1" {
			return true
		}
	}
	return false
}
