//go:build unix

package dnsserver_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/dnslb/dnslb/internal/dnsserver"
	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/zone"
)

// TestBrokenUDPSocketEndsRun: a UDP loop whose socket fails under it ends
// Run with an error, rather than leaving the clients the kernel hashes to
// that socket without answers.
func TestBrokenUDPSocketEndsRun(t *testing.T) {
	srv := newServerWith(t, func(c *dnsserver.Config) { c.UDPSockets = 2 })
	done := run(context.Background(), srv)
	if r := exchange(t, "udp", srv.Addr(), query("www.lb.test.", dns.TypeA)); r.Rcode != dns.RcodeSuccess {
		t.Fatalf("before: %s", dns.RcodeToString[r.Rcode])
	}
	srv.UDPConns()[1].Close()
	err := wait(t, done)
	if want := "dns: udp socket 2 of 2: "; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("Run after a socket broke: %v; want an error starting %q", err, want)
	}
}

// newServerWith is newServer with edit applied to the config, bound.
func newServerWith(t *testing.T, edit func(*dnsserver.Config)) *dnsserver.Server {
	t.Helper()
	p := new(atomic.Pointer[zone.Snapshot])
	p.Store(zone.Build(fixture()))
	cfg := dnsserver.Config{Addr: "127.0.0.1:0", Snapshot: p}
	edit(&cfg)
	srv, err := dnsserver.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	return srv
}

// bigTXT is a snapshot of lb.test. whose big.lb.test. TXT answer is about
// 50 KB, so that a client which stops reading blocks the server's writes
// well before miekg/dns's limit of 128 queries per connection.
func bigTXT() dnsserver.Snapshots {
	in := fixture()
	var values []string
	for i := range 200 {
		values = append(values, fmt.Sprintf("%03d", i)+strings.Repeat("x", 250))
	}
	in.Sets = append(in.Sets, set("lb.test.", "big.lb.test.", record.TXT, "", 0, values...))
	p := new(atomic.Pointer[zone.Snapshot])
	p.Store(zone.Build(in))
	return p
}

// syncLog is a concurrency-safe log buffer.
type syncLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// TestShutdownCutsStuckTCP: a TCP client that stops reading holds the
// server in a write; at shutdown it is cut when Config.Shutdown has
// passed, Run returns nil and the log says how many connections were cut.
func TestShutdownCutsStuckTCP(t *testing.T) {
	var log syncLog
	srv := newServerWith(t, func(c *dnsserver.Config) {
		c.Shutdown = 200 * time.Millisecond
		c.Snapshot = bigTXT()
		c.Logger = slog.New(slog.NewTextHandler(&log, nil))
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := run(ctx, srv)
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		return c.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 1024) })
	}}
	conn, err := d.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	q, err := query("big.lb.test.", dns.TypeTXT).Pack()
	if err != nil {
		t.Fatal(err)
	}
	framed := append([]byte{byte(len(q) >> 8), byte(len(q))}, q...)
	batch := bytes.Repeat(framed, 100)
	for { // until the server stops reading: it is stuck writing to us
		conn.SetWriteDeadline(time.Now().Add(300 * time.Millisecond))
		if _, err := conn.Write(batch); err != nil {
			t.Logf("client stopped writing: %v", err)
			break
		}
	}
	start := time.Now()
	cancel()
	if err := wait(t, done); err != nil {
		t.Errorf("Run at shutdown: %v", err)
	}
	if took := time.Since(start); took > 1500*time.Millisecond {
		t.Errorf("shutdown took %v with Config.Shutdown 200ms", took)
	}
	if !strings.Contains(log.String(), "connections=1") {
		t.Errorf("log does not count the connection cut:\n%s", log.String())
	}
}

// TestTransientErrnos: errors a UDP loop retries, and those that end it.
func TestTransientErrnos(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{syscall.EINTR, true}, {syscall.EAGAIN, true}, {syscall.ENOBUFS, true}, {syscall.ENOMEM, true},
		{fmt.Errorf("sendmmsg: %w", syscall.ECONNREFUSED), true}, {syscall.EHOSTUNREACH, true},
		{syscall.EBADF, false}, {syscall.ENOTSOCK, false}, {syscall.EINVAL, false}, {syscall.EFAULT, false},
		{net.ErrClosed, false}, {fmt.Errorf("recvmmsg: %w", syscall.EBADF), false},
	} {
		if got := dnsserver.Transient(tc.err); got != tc.want {
			t.Errorf("transient(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
