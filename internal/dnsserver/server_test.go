package dnsserver_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/dnslb/dnslb/internal/dnsserver"
	"github.com/dnslb/dnslb/internal/zone"
)

func TestNewNeedsSnapshot(t *testing.T) {
	if _, err := dnsserver.New(dnsserver.Config{}); err == nil {
		t.Error("New without a Snapshot: no error")
	}
}

// run starts srv.Run(ctx) and returns its result channel.
func run(ctx context.Context, srv *dnsserver.Server) <-chan error {
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	return done
}

// wait returns what Run returned, failing after a generous deadline.
func wait(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
		return nil
	}
}

func newServer(t *testing.T, addr string) *dnsserver.Server {
	t.Helper()
	p := new(atomic.Pointer[zone.Snapshot])
	p.Store(zone.Build(fixture()))
	srv, err := dnsserver.New(dnsserver.Config{Addr: addr, Snapshot: p})
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

func TestRunStopsOnCancel(t *testing.T) {
	srv := newServer(t, "127.0.0.1:0")
	if got := srv.Addr(); got != "127.0.0.1:0" {
		t.Errorf("Addr before Listen = %q, want the configured address", got)
	}
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := run(ctx, srv)
	for _, network := range []string{"udp", "tcp"} {
		if r := exchange(t, network, srv.Addr(), query("www.lb.test.", dns.TypeA)); r.Rcode != dns.RcodeSuccess {
			t.Errorf("%s: %s", network, dns.RcodeToString[r.Rcode])
		}
	}
	// A TCP client that stays connected does not hold shutdown up.
	idle := dial(t, "tcp", srv.Addr())
	send(t, idle, pack(t, query("www.lb.test.", dns.TypeA)))
	receive(t, idle)
	cancel()
	if err := wait(t, done); err != nil {
		t.Errorf("Run after cancel: %v", err)
	}
	// Nothing listens on the address any more, for TCP and UDP. Binding the
	// port again would prove it too, but races every other process on the
	// machine: once closed, the port is free to become the source port of
	// anyone's client, as the one below makes it.
	squatter := squat(t, srv.Addr())
	defer squatter.Close()
	if c, err := net.DialTimeout("tcp", srv.Addr(), 5*time.Second); err == nil {
		c.Close()
		t.Errorf("after Run, TCP %s still accepts connections", srv.Addr())
	} else if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("after Run, TCP dial %s: %v; want connection refused", srv.Addr(), err)
	}
	c := dial(t, "udp", srv.Addr())
	send(t, c, pack(t, query("www.lb.test.", dns.TypeA)))
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 512)); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("after Run, UDP %s: %v; want connection refused (port unreachable)", srv.Addr(), err)
	}
}

// squat makes addr's port the source port of a UDP client, as another
// process's client (a resolver's, say) may at any time once the port is
// free. Bound and connected elsewhere, it takes none of our datagrams.
func squat(t *testing.T, addr string) net.Conn {
	t.Helper()
	local, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.DialUDP("udp", local, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9})
	if err != nil {
		t.Fatalf("taking %s as a source port: %v", addr, err)
	}
	return c
}

// Run returns even when its context ends before it starts serving.
func TestRunCanceledEarly(t *testing.T) {
	for range 20 {
		srv := newServer(t, "127.0.0.1:0")
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := wait(t, run(ctx, srv)); err != nil {
			t.Fatalf("Run with a canceled context: %v", err)
		}
	}
	for range 20 {
		srv := newServer(t, "127.0.0.1:0")
		if err := srv.Listen(); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := run(ctx, srv)
		cancel()
		if err := wait(t, done); err != nil {
			t.Fatalf("Run canceled at once: %v", err)
		}
	}
}

func TestListenAddressInUse(t *testing.T) {
	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer tcp.Close()
	running := start(t, zone.Build(fixture()), nil)
	for name, addr := range map[string]string{
		"udp taken":         udp.LocalAddr().String(),
		"tcp taken":         tcp.Addr().String(),
		"another dnsserver": running.Addr(),
	} {
		srv := newServer(t, addr)
		err := srv.Listen()
		if err == nil || !strings.Contains(err.Error(), "address already in use") {
			t.Errorf("%s: Listen on %s = %v, want an error with %q", name, addr, err, "address already in use")
		}
		if err == nil { // do not leave it bound
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			_ = wait(t, run(ctx, srv))
		}
		// Run on a taken address fails the same way.
		ctx, cancel := context.WithCancel(context.Background())
		done := run(ctx, newServer(t, addr))
		if err := wait(t, done); err == nil || !strings.Contains(err.Error(), "address already in use") {
			t.Errorf("%s: Run on %s = %v, want %q", name, addr, err, "address already in use")
		}
		cancel()
	}
	// The running server still answers.
	if r := exchange(t, "udp", running.Addr(), query("www.lb.test.", dns.TypeA)); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 2 {
		t.Errorf("running server: %s %v", dns.RcodeToString[r.Rcode], r.Answer)
	}
}

// TestIPv6 serves on ::1: the fast path and the full handler (a CHAOS
// query, REFUSED) both reply to the IPv6 peer they heard from.
func TestIPv6(t *testing.T) {
	ln, err := net.ListenPacket("udp6", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback here: %v", err)
	}
	ln.Close()
	ts := start(t, zone.Build(fixture()), func(c *dnsserver.Config) { c.Addr = "[::1]:0" })
	for _, network := range []string{"udp", "tcp"} {
		r := exchange(t, network, ts.Addr(), query("www.lb.test.", dns.TypeA))
		if r.Rcode != dns.RcodeSuccess || len(r.Answer) == 0 {
			t.Errorf("%s over IPv6: rcode %s, %d answers", network, dns.RcodeToString[r.Rcode], len(r.Answer))
		}
		q := query("version.bind.", dns.TypeTXT)
		q.Question[0].Qclass = dns.ClassCHAOS
		if r := exchange(t, network, ts.Addr(), q); r.Rcode != dns.RcodeRefused {
			t.Errorf("%s over IPv6, CHAOS query: rcode %s, want REFUSED", network, dns.RcodeToString[r.Rcode])
		}
	}
}
