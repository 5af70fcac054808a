package agent

import (
	"context"
	"net"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/dnslb/dnslb/internal/api"
	"github.com/dnslb/dnslb/internal/api/client"
	"github.com/dnslb/dnslb/internal/heartbeat"
	"github.com/dnslb/dnslb/internal/registry"
	"github.com/dnslb/dnslb/internal/store/boltstore"
)

// apiWithHeartbeatsAt runs the real API and registry over a bolt file,
// telling agents to send heartbeats to hb.
func apiWithHeartbeatsAt(t *testing.T, hb netip.AddrPort) *client.Client {
	t.Helper()
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "dnslb.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	reg := registry.New(st, registry.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- reg.Run(ctx) }()
	srv := httptest.NewServer(api.New(api.Config{Registry: reg, Heartbeat: hb}))
	t.Cleanup(func() {
		srv.Close()
		cancel()
		<-done
		st.Close()
	})
	<-reg.Ready()
	if err := reg.EnsureZone(context.Background(), "lb.test"); err != nil {
		t.Fatal(err)
	}
	cl, err := client.New(srv.URL, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

func testAgent(cl *client.Client) *Agent {
	a := New(Config{Servers: []*client.Client{cl}, Zone: "lb.test", Name: "www", Weight: 10, TTL: 1, Lease: 3 * time.Second, Margin: -1})
	a.id = Identity{SetID: "i-1", Address: netip.MustParseAddr("127.0.0.41")}
	a.typ = "A"
	return a
}

// TestHeartbeatsPauseOnlyWhenHTTPWorks: heartbeats that go unanswered
// while HTTP renewals work (UDP dropped on the way) stop after three in a
// row, for a minute; the lease lives on over HTTP throughout.
func TestHeartbeatsPauseOnlyWhenHTTPWorks(t *testing.T) {
	silent, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}) // reads nothing, answers nothing
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	a := testAgent(apiWithHeartbeatsAt(t, silent.LocalAddr().(*net.UDPAddr).AddrPort()))
	ctx := context.Background()
	if err := a.register(ctx); err != nil {
		t.Fatal(err)
	}
	a.renewOrBackoff(ctx) // over HTTP: hands out the token
	if a.beats.client == nil || a.beats.creds.Token.IsZero() {
		t.Fatal("no heartbeat path after an HTTP renewal")
	}
	a.beats.client.Timeout = 20 * time.Millisecond
	for i := 1; i <= pauseAfter; i++ {
		if next, _ := a.renewOrBackoff(ctx); next > time.Second+100*time.Millisecond {
			t.Fatalf("renewal %d failed (next in %s)", i, next)
		}
		if a.beats.silent != i {
			t.Fatalf("after %d unanswered heartbeats: counted %d", i, a.beats.silent)
		}
	}
	if left := time.Until(a.beats.pause); left < 50*time.Second || left > firstPause {
		t.Fatalf("pause after %d unanswered heartbeats: %s left, want about %s", pauseAfter, left, firstPause)
	}
	// Paused: straight to HTTP, no heartbeat timeout.
	t0 := time.Now()
	a.renewOrBackoff(ctx)
	if took := time.Since(t0); took > 50*time.Millisecond*time.Duration(a.beats.client.Tries) {
		t.Errorf("a paused renewal took %s: it waited for heartbeats", took)
	}
	if a.beats.silent != pauseAfter {
		t.Errorf("a paused renewal counted as unanswered: %d", a.beats.silent)
	}
}

// TestHeartbeatsKeepGoingAcrossARestart: a heartbeat unanswered because the
// server is down altogether (HTTP fails too) does not count towards the
// pause: after a restart the agent is back on heartbeats at once.
func TestHeartbeatsKeepGoingAcrossARestart(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := pc.LocalAddr().String()
	pc.Close()
	down, err := client.New("http://"+closed, nil) // nothing listens there either
	if err != nil {
		t.Fatal(err)
	}
	a := testAgent(down)
	a.beats.client, err = heartbeat.Dial(closed)
	if err != nil {
		t.Fatal(err)
	}
	a.beats.creds.Token = heartbeat.Token{1}
	ctx := context.Background()
	for range pauseAfter + 1 {
		a.beats.creds.Token = heartbeat.Token{1}
		a.renewOrBackoff(ctx)
	}
	if a.beats.silent != 0 || !a.beats.pause.IsZero() {
		t.Errorf("server down for heartbeats and HTTP alike: counted %d unanswered, pause until %v", a.beats.silent, a.beats.pause)
	}
	// The server is back (here: another one; heartbeats offered on a socket
	// that answers nothing, so that only HTTP can succeed): the heartbeat
	// lost while it was down is still not counted.
	silent, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	a.cfg.Servers[0] = apiWithHeartbeatsAt(t, silent.LocalAddr().(*net.UDPAddr).AddrPort())
	if err := a.register(ctx); err != nil {
		t.Fatal(err)
	}
	a.renewOrBackoff(ctx) // no token since the failure: HTTP, which works
	if a.beats.silent != 0 {
		t.Errorf("the heartbeat lost while the server was down counted once HTTP came back: %d", a.beats.silent)
	}
	// A heartbeat unanswered while HTTP works does count.
	a.beats.client, _ = heartbeat.Dial(closed)
	a.beats.creds.Token = heartbeat.Token{1}
	a.renewOrBackoff(ctx)
	if a.beats.silent != 1 {
		t.Errorf("after one heartbeat unanswered while HTTP worked: counted %d, want 1", a.beats.silent)
	}
}
