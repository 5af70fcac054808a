package heartbeat

import (
	"bytes"
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestWireRoundTrip(t *testing.T) {
	tok := Token{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	for _, h := range []Health{Unreported, Down, Up, HealthOf(true), HealthOf(false)} {
		want := Request{Nonce: 0x0102030405060708, Token: tok, Health: h}
		b := want.Append(nil)
		if len(b) != RequestSize {
			t.Fatalf("request is %d bytes, want %d", len(b), RequestSize)
		}
		if q, err := ParseRequest(b); err != nil || q != want {
			t.Errorf("round trip of %+v: %+v, %v", want, q, err)
		}
	}
	a := Answer{Nonce: 42, Status: StatusOK, Draining: true, Lease: 15 * time.Second}
	b := a.Append(nil)
	if len(b) != AnswerSize {
		t.Fatalf("answer is %d bytes, want %d", len(b), AnswerSize)
	}
	if got, err := ParseAnswer(b); err != nil || got != a {
		t.Errorf("answer round trip: %+v, %v; want %+v", got, err, a)
	}
	if got, err := ParseToken(tok.String()); err != nil || got != tok {
		t.Errorf("token round trip: %v, %v", got, err)
	}
	for _, bad := range []string{"", "zz", tok.String()[:30], tok.String() + "00", "g" + tok.String()[1:]} {
		if _, err := ParseToken(bad); err == nil {
			t.Errorf("ParseToken(%q) took it", bad)
		}
	}
}

func TestParseRequestRejects(t *testing.T) {
	good := Request{Nonce: 7, Token: Token{1}}.Append(nil)
	edit := func(f func([]byte) []byte) []byte { return f(bytes.Clone(good)) }
	for name, b := range map[string][]byte{
		"empty":                    {},
		"short":                    good[:8],
		"truncated":                good[:RequestSize-1],
		"long":                     append(bytes.Clone(good), 0),
		"magic":                    edit(func(b []byte) []byte { b[0] = 'D'; return b }),
		"reserved":                 edit(func(b []byte) []byte { b[7] = 1; return b }),
		"flags":                    edit(func(b []byte) []byte { b[5] = 4; return b }),
		"healthy without reported": edit(func(b []byte) []byte { b[5] = 2; return b }),
		"dns packet":               {0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0},
	} {
		if _, err := ParseRequest(b); !errors.Is(err, errMalformed) {
			t.Errorf("%s: %v, want malformed", name, err)
		}
	}
	v2 := edit(func(b []byte) []byte { b[4] = 2; return b })
	if q, err := ParseRequest(v2); !errors.Is(err, ErrVersion) || q.Nonce != 7 {
		t.Errorf("version 2: %+v, %v; want ErrVersion with the nonce", q, err)
	}
}

func FuzzParseRequest(f *testing.F) {
	f.Add(Request{Nonce: 1, Token: Token{9}}.Append(nil))
	f.Add([]byte("dlhb\x02"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		q, err := ParseRequest(b)
		if err != nil {
			return
		}
		// What parses is exactly what Append writes.
		if again := q.Append(nil); !bytes.Equal(again, b) {
			t.Fatalf("parsed %x as %+v, which writes %x", b, q, again)
		}
	})
}

// leases is a RenewFunc over a map, standing in for the registry.
type leases struct {
	mu      sync.Mutex
	known   map[Token]bool
	renewed map[Token]int
	health  map[Token]bool
}

func (l *leases) renew(tok Token, h Health) (time.Duration, bool, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.known[tok] {
		return 0, false, false
	}
	l.renewed[tok]++
	if h != Unreported {
		l.health[tok] = h == Up
	}
	return 15 * time.Second, false, true
}

func startServer(t *testing.T, renew RenewFunc) (*Server, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	s := NewServer("127.0.0.1:0", NewHandler(Config{Renew: renew, Registerer: reg}))
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return s, reg
}

// A heartbeat socket that fails for good ends Run with an error, so serve
// ends rather than leave agents without answers; a stop does not.
func TestServerEndsWhenItsSocketFails(t *testing.T) {
	s := NewServer("127.0.0.1:0", NewHandler(Config{Renew: (&leases{}).renew}))
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(context.Background()) }()
	s.conn.Close() // as a failing socket would
	select {
	case err := <-done:
		if want := "heartbeat 127.0.0.1:0: socket closed under the server"; err == nil || err.Error() != want {
			t.Errorf("Run after its socket closed: %v, want %q", err, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run goes on after its socket closed")
	}
}

// An answer is never larger than its request: a short datagram with the
// magic and an unknown version (8 bytes) gets no 20-byte answer, so
// heartbeats amplify nothing; a whole request of an unknown version still
// learns that its version is not served.
func TestAnswerNeverLargerThanRequest(t *testing.T) {
	h := NewHandler(Config{Renew: (&leases{}).renew})
	out := make([]byte, 0, AnswerSize)
	if resp, ours := h.Answer([]byte("dlhb\x09\x00\x00\x00"), out); !ours || resp != nil {
		t.Errorf("8-byte datagram of version 9: answer %x (ours %v), want none", resp, ours)
	}
	v9 := Request{Nonce: 7}.Append(nil)
	v9[4] = 9
	resp, _ := h.Answer(v9, out)
	if a, err := ParseAnswer(resp); err != nil || a.Status != StatusBadVersion || len(resp) > len(v9) {
		t.Errorf("32-byte request of version 9: %x (%+v, %v), want a bad-version answer of at most 32 bytes", resp, a, err)
	}
}

// TestServerOverUDP: real datagrams on loopback, through the client; bad
// datagrams neither stop the server nor get an answer.
func TestServerOverUDP(t *testing.T) {
	tok := Token{0xaa}
	l := &leases{known: map[Token]bool{tok: true}, renewed: map[Token]int{}, health: map[Token]bool{}}
	s, reg := startServer(t, l.renew)
	c, err := Dial(s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	a, err := c.Beat(ctx, tok, Down)
	if err != nil || a.Status != StatusOK || a.Lease != 15*time.Second {
		t.Fatalf("beat: %+v, %v", a, err)
	}
	l.mu.Lock() // the server's goroutine wrote them; the race detector cannot see the datagrams order that
	if l.renewed[tok] != 1 || l.health[tok] != false {
		t.Errorf("renewed %d times, health %v", l.renewed[tok], l.health[tok])
	}
	l.mu.Unlock()
	if a, err := c.Beat(ctx, Token{0xbb}, Unreported); err != nil || a.Status != StatusUnknown {
		t.Errorf("beat with an unknown token: %+v, %v; want StatusUnknown", a, err)
	}

	// Garbage from a raw socket: no answer, and the server goes on.
	raw, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(s.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	garbage := [][]byte{{}, {0}, []byte("dlhb"), bytes.Repeat([]byte{0xff}, 2000),
		append(Request{Token: tok}.Append(nil), 0)}
	for _, g := range garbage {
		if _, err := raw.Write(g); err != nil {
			t.Fatal(err)
		}
	}
	v2 := Request{Nonce: 99, Token: tok}.Append(nil)
	v2[4] = 2
	if _, err := raw.Write(v2); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	raw.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := raw.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	// The first answer on this socket is the one to the version-2 datagram:
	// none of the garbage before it was answered.
	if a, err := ParseAnswer(buf[:n]); err != nil || a.Status != StatusBadVersion || a.Nonce != 99 {
		t.Errorf("first answer on the raw socket: %+v, %v; want bad version for nonce 99", a, err)
	}
	if a, err := c.Beat(ctx, tok, Unreported); err != nil || a.Status != StatusOK {
		t.Errorf("beat after garbage: %+v, %v", a, err)
	}
	if got := testutil.ToFloat64(s.h.malformed); got != float64(len(garbage)) {
		t.Errorf("malformed counted %v, want %d", got, len(garbage))
	}
	if n, err := testutil.GatherAndCount(reg, "dnslb_heartbeats_total"); err != nil || n != 5 {
		t.Errorf("dnslb_heartbeats_total has %d series (%v), want 5", n, err)
	}
}

// TestServerSurvivesPanic: a renewal that panics answers StatusServerError
// and the next heartbeat is served.
func TestServerSurvivesPanic(t *testing.T) {
	calls := 0
	s, _ := startServer(t, func(Token, Health) (time.Duration, bool, bool) {
		calls++
		if calls == 1 {
			panic("boom")
		}
		return time.Second, false, true
	})
	c, err := Dial(s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if a, err := c.Beat(context.Background(), Token{1}, Unreported); err != nil || a.Status != StatusServerError {
		t.Errorf("beat into a panic: %+v, %v", a, err)
	}
	if a, err := c.Beat(context.Background(), Token{1}, Unreported); err != nil || a.Status != StatusOK {
		t.Errorf("beat after the panic: %+v, %v", a, err)
	}
}

// TestClientNoServer: with nothing listening, Beat fails fast (ICMP port
// unreachable) or after its tries, never hangs.
func TestClientNoServer(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	c, err := Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Timeout, c.Tries = 50*time.Millisecond, 2
	if _, err := c.Beat(context.Background(), Token{1}, Unreported); err == nil {
		t.Fatal("beat to a closed port succeeded")
	}
	// A server that never answers: the tries run out.
	silent, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	c2, err := Dial(silent.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	c2.Timeout, c2.Tries = 20*time.Millisecond, 2
	if _, err := c2.Beat(context.Background(), Token{1}, Unreported); !errors.Is(err, ErrNoAnswer) {
		t.Fatalf("beat to a silent server: %v, want ErrNoAnswer", err)
	}
}

// TestAnswerAllocatesNothing: the per-datagram work, which runs on the DNS
// loops.
func TestAnswerAllocatesNothing(t *testing.T) {
	h := NewHandler(Config{Renew: func(Token, Health) (time.Duration, bool, bool) { return time.Second, false, true }})
	b := Request{Nonce: 1, Token: Token{1}, Health: Up}.Append(nil)
	out := make([]byte, 0, AnswerSize)
	if n := testing.AllocsPerRun(1000, func() { h.Answer(b, out) }); n != 0 {
		t.Errorf("Answer allocates %.1f times per datagram", n)
	}
}

// TestAnswerTellsDNSApart: on a shared port, DNS queries are not ours.
func TestAnswerTellsDNSApart(t *testing.T) {
	h := NewHandler(Config{Renew: func(Token, Health) (time.Duration, bool, bool) { return time.Second, false, true }})
	query := []byte{0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, 'w', 'w', 'w', 0, 0, 1, 0, 1}
	if resp, ours := h.Answer(query, make([]byte, 0, AnswerSize)); ours || resp != nil {
		t.Errorf("a DNS query was taken for a heartbeat")
	}
	resp, ours := h.Answer(Request{Nonce: 5, Token: Token{1}}.Append(nil), make([]byte, 0, AnswerSize))
	if a, err := ParseAnswer(resp); !ours || err != nil || a.Status != StatusOK || a.Nonce != 5 {
		t.Errorf("heartbeat: ours %v, %+v, %v", ours, a, err)
	}
	if resp, ours := h.Answer([]byte("dlhb\x01garbage"), make([]byte, 0, AnswerSize)); !ours || resp != nil {
		t.Errorf("malformed heartbeat: ours %v, answer %x; want ours and no answer", ours, resp)
	}
}

func BenchmarkAnswer(b *testing.B) {
	h := NewHandler(Config{Renew: func(Token, Health) (time.Duration, bool, bool) { return time.Second, false, true }})
	q := Request{Nonce: 1, Token: Token{1}}.Append(nil)
	out := make([]byte, 0, AnswerSize)
	b.ReportAllocs()
	for b.Loop() {
		h.Answer(q, out)
	}
}
