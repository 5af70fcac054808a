package heartbeat

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

var testKey = Key{0x11, 0x22, 0x33}

func TestWireRoundTrip(t *testing.T) {
	tok := Token{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	for _, h := range []Health{Unreported, Down, Up, HealthOf(true), HealthOf(false)} {
		want := Request{Counter: 0x0102030405060708, Token: tok, Health: h}
		b := want.Append(nil, &testKey)
		if len(b) != RequestSize {
			t.Fatalf("request is %d bytes, want %d", len(b), RequestSize)
		}
		q, err := ParseRequest(b)
		if err != nil || q.Counter != want.Counter || q.Token != tok || q.Health != h {
			t.Errorf("round trip of %+v: %+v, %v", want, q, err)
		}
		if !q.Verify(&testKey) || q.Verify(&Key{1}) {
			t.Errorf("verify %+v: not the key's, or another key's", q)
		}
	}
	a := Answer{Counter: 42, Status: StatusOK, Draining: true, Lease: 15 * time.Second}
	b := a.Append(nil, &testKey)
	if len(b) != AnswerSize {
		t.Fatalf("answer is %d bytes, want %d", len(b), AnswerSize)
	}
	if got, err := ParseAnswer(b, &testKey); err != nil || got != a {
		t.Errorf("answer round trip: %+v, %v; want %+v", got, err, a)
	}
	if _, err := ParseAnswer(b, &Key{1}); err == nil {
		t.Errorf("an answer signed with another key parsed")
	}
	if got, err := ParseToken(tok.String()); err != nil || got != tok {
		t.Errorf("token round trip: %v, %v", got, err)
	}
	for _, bad := range []string{"", "zz", tok.String()[:30], tok.String() + "00", "g" + tok.String()[1:]} {
		if _, err := ParseToken(bad); err == nil {
			t.Errorf("ParseToken(%q) took it", bad)
		}
	}
	if got, err := ParseKey(testKey.String()); err != nil || got != testKey {
		t.Errorf("key round trip: %v, %v", got, err)
	}
	if _, err := ParseKey("00"); err == nil || err.Error() != "heartbeat key: want 64 hex digits" {
		t.Errorf("ParseKey(00): %v", err)
	}
}

// TestMACIsHMACSHA256: the pooled, allocation-free MAC is HMAC-SHA256
// (truncated), as crypto/hmac computes it; so is the key id.
func TestMACIsHMACSHA256(t *testing.T) {
	for _, msg := range [][]byte{nil, []byte("dlhb"), bytes.Repeat([]byte{7}, 20), bytes.Repeat([]byte{9}, maxSigned)} {
		for _, key := range []Key{{}, testKey, NewKey()} {
			m := hmac.New(sha256.New, key[:])
			m.Write(msg)
			want := m.Sum(nil)[:MACSize]
			var got [MACSize]byte
			mac(&key, msg, &got)
			if !bytes.Equal(got[:], want) {
				t.Errorf("mac(%x, %x) = %x, want %x", key, msg, got, want)
			}
		}
	}
	m := hmac.New(sha256.New, testKey[:])
	m.Write([]byte("dnslb heartbeat key id"))
	if id := KeyIDOf(&testKey); !bytes.Equal(id[:], m.Sum(nil)[:16]) {
		t.Errorf("key id %x", id)
	}
}

func TestParseRequestRejects(t *testing.T) {
	good := Request{Counter: 7, Token: Token{1}}.Append(nil, &testKey)
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
	v1 := edit(func(b []byte) []byte { b[4] = 1; return b[:32] })
	if _, err := ParseRequest(v1); !errors.Is(err, ErrVersion) {
		t.Errorf("version 1: %v; want ErrVersion", err)
	}
}

func FuzzParseRequest(f *testing.F) {
	f.Add(Request{Counter: 1, Token: Token{9}}.Append(nil, &testKey))
	f.Add([]byte("dlhb\x02"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		q, err := ParseRequest(b)
		if err != nil {
			return
		}
		// What parses is exactly what Append writes, the MAC aside; and
		// only the key's MAC verifies.
		again := q.Append(nil, &testKey)
		if !bytes.Equal(again[:signedReq], b[:signedReq]) {
			t.Fatalf("parsed %x as %+v, which writes %x", b, q, again)
		}
		if q.Verify(&testKey) != bytes.Equal(again, b) {
			t.Fatalf("%x: Verify %v", b, q.Verify(&testKey))
		}
	})
}

// leases is a RenewFunc over a map, standing in for the registry: it
// checks the MAC and that counters grow.
type leases struct {
	mu      sync.Mutex
	keys    map[Token]*Key
	high    map[Token]uint64
	renewed map[Token]int
	health  map[Token]bool
}

func newLeases(keys ...*Key) *leases {
	l := &leases{keys: map[Token]*Key{}, high: map[Token]uint64{}, renewed: map[Token]int{}, health: map[Token]bool{}}
	for _, k := range keys {
		l.keys[KeyIDOf(k)] = k
	}
	return l
}

func (l *leases) renew(q Request) Result {
	l.mu.Lock()
	defer l.mu.Unlock()
	key := l.keys[q.Token]
	switch {
	case key == nil:
		return Result{Verdict: NoKey}
	case !q.Verify(key):
		return Result{Verdict: BadMAC}
	case q.Counter <= l.high[q.Token]:
		return Result{Verdict: Replay}
	}
	l.high[q.Token] = q.Counter
	l.renewed[q.Token]++
	if q.Health != Unreported {
		l.health[q.Token] = q.Health == Up
	}
	return Result{Verdict: Renewed, Key: key, Lease: 15 * time.Second}
}

func (l *leases) count(tok Token) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.renewed[tok]
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
	s := NewServer("127.0.0.1:0", NewHandler(Config{Renew: newLeases().renew}))
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
// magic and an unknown version (8 bytes) gets no answer, nor does any
// prefix of a valid request, nor a whole request of another version.
func TestAnswerNeverLargerThanRequest(t *testing.T) {
	h := NewHandler(Config{Renew: newLeases(&testKey).renew})
	out := make([]byte, 0, AnswerSize)
	if resp, ours := h.Answer([]byte("dlhb\x09\x00\x00\x00"), out); !ours || resp != nil {
		t.Errorf("8-byte datagram of version 9: answer %x (ours %v), want none", resp, ours)
	}
	good := Request{Counter: 7, Token: KeyIDOf(&testKey)}.Append(nil, &testKey)
	for n := 4; n < len(good); n++ {
		if resp, _ := h.Answer(good[:n], out); len(resp) > n {
			t.Errorf("%d bytes of a request: answer of %d", n, len(resp))
		}
	}
	v9 := bytes.Clone(good)
	v9[4] = 9
	if resp, _ := h.Answer(v9, out); resp != nil {
		t.Errorf("request of version 9: answer %x, want none", resp)
	}
	if resp, _ := h.Answer(good, out); len(resp) != AnswerSize || len(resp) > len(good) {
		t.Errorf("valid request: answer of %d bytes to %d", len(resp), len(good))
	}
}

// TestHandlerDropsForgeries: a replayed datagram, one with its health
// byte flipped, and one with a valid key id but a wrong MAC get no answer
// and renew nothing; each is counted by its result.
func TestHandlerDropsForgeries(t *testing.T) {
	reg := prometheus.NewRegistry()
	l := newLeases(&testKey)
	h := NewHandler(Config{Renew: l.renew, Registerer: reg})
	tok := KeyIDOf(&testKey)
	out := make([]byte, 0, AnswerSize)
	captured := Request{Counter: 100, Token: tok, Health: Up}.Append(nil, &testKey)
	if resp, _ := h.Answer(captured, out); resp == nil {
		t.Fatal("the genuine heartbeat was not answered")
	}
	flip := func(health Health) []byte {
		b := Request{Counter: 101, Token: tok, Health: Up}.Append(nil, &testKey)
		b[5] = byte(health)
		return b
	}
	wrongMAC := Request{Counter: 102, Token: tok}.Append(nil, &Key{0x99})
	for name, b := range map[string][]byte{
		"replayed": captured, "health flipped to down": flip(Down), "health flipped to unreported": flip(Unreported),
		"wrong MAC": wrongMAC, "unknown key id": Request{Counter: 103, Token: Token{5}}.Append(nil, &testKey),
	} {
		if resp, ours := h.Answer(b, out); !ours || resp != nil {
			t.Errorf("%s: answered %x", name, resp)
		}
	}
	if n := l.count(tok); n != 1 {
		t.Errorf("renewed %d times, want 1 (the genuine heartbeat)", n)
	}
	for result, want := range map[string]float64{"ok": 1, "replay": 1, "bad_mac": 3, "unknown_token": 1} {
		c, _ := h.counter(result)
		if got := testutil.ToFloat64(c); got != want {
			t.Errorf("dnslb_heartbeats_total{result=%q} = %v, want %v", result, got, want)
		}
	}
}

// counter is the counter of one result, for tests.
func (h *Handler) counter(result string) (prometheus.Counter, bool) {
	c, ok := map[string]prometheus.Counter{"ok": h.ok, "renew_http": h.unknown, "unknown_token": h.noKey,
		"bad_mac": h.badMAC, "replay": h.replay, "bad_version": h.badVersion, "malformed": h.malformed, "error": h.failed}[result]
	return c, ok
}

// TestServerOverUDP: real datagrams on loopback, through the client; bad
// datagrams neither stop the server nor get an answer.
func TestServerOverUDP(t *testing.T) {
	tok := KeyIDOf(&testKey)
	l := newLeases(&testKey)
	s, reg := startServer(t, l.renew)
	c, err := Dial(s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	cr := &Credentials{Token: tok, Key: testKey, Counter: 1000}
	a, err := c.Beat(ctx, cr, Down)
	if err != nil || a.Status != StatusOK || a.Lease != 15*time.Second || a.Counter != 1001 || cr.Counter != 1001 {
		t.Fatalf("beat: %+v, %v (counter now %d)", a, err, cr.Counter)
	}
	l.mu.Lock() // the server's goroutine wrote them; the race detector cannot see the datagrams order that
	if l.renewed[tok] != 1 || l.health[tok] != false {
		t.Errorf("renewed %d times, health %v", l.renewed[tok], l.health[tok])
	}
	l.mu.Unlock()
	c.Timeout, c.Tries = 30*time.Millisecond, 1
	if _, err := c.Beat(ctx, &Credentials{Token: Token{0xbb}, Key: testKey}, Unreported); !errors.Is(err, ErrNoAnswer) {
		t.Errorf("beat with an unknown key id: %v; want no answer", err)
	}
	c.Timeout, c.Tries = 5*time.Second, 1

	// Garbage from a raw socket: no answer, and the server goes on.
	raw, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(s.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	garbage := [][]byte{{}, {0}, []byte("dlhb"), bytes.Repeat([]byte{0xff}, 2000),
		append(Request{Token: tok}.Append(nil, &testKey), 0)}
	for _, g := range garbage {
		if _, err := raw.Write(g); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := raw.Write(Request{Counter: 5000, Token: tok}.Append(nil, &testKey)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	raw.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := raw.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	// The first answer on this socket is the one to the valid datagram:
	// none of the garbage before it was answered.
	if a, err := ParseAnswer(buf[:n], &testKey); err != nil || a.Status != StatusOK || a.Counter != 5000 {
		t.Errorf("first answer on the raw socket: %+v, %v; want ok for counter 5000", a, err)
	}
	// The client counted up from 1001; the server has seen 5000 since.
	c.Timeout = 50 * time.Millisecond
	if _, err := c.Beat(ctx, cr, Unreported); !errors.Is(err, ErrNoAnswer) {
		t.Errorf("beat with a counter below one seen: %v, want no answer", err)
	}
	cr.Counter, c.Timeout = 6000, 5*time.Second
	if a, err := c.Beat(ctx, cr, Unreported); err != nil || a.Status != StatusOK {
		t.Errorf("beat after garbage: %+v, %v", a, err)
	}
	if got := testutil.ToFloat64(s.h.malformed); got != float64(len(garbage)) {
		t.Errorf("malformed counted %v, want %d", got, len(garbage))
	}
	if n, err := testutil.GatherAndCount(reg, "dnslb_heartbeats_total"); err != nil || n != 8 {
		t.Errorf("dnslb_heartbeats_total has %d series (%v), want 8", n, err)
	}
}

// TestClientIgnoresForgedAnswers: an answer not signed with the set's key
// (a spoofed "ok" or "renew over HTTP") is not believed.
func TestClientIgnoresForgedAnswers(t *testing.T) {
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	go func() {
		buf := make([]byte, 64)
		for {
			n, from, err := pc.ReadFromUDP(buf)
			if err != nil {
				return
			}
			q, _ := ParseRequest(buf[:n])
			pc.WriteToUDP(Answer{Counter: q.Counter, Status: StatusUnknown}.Append(nil, &Key{0x66}), from)
		}
	}()
	c, err := Dial(pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Timeout, c.Tries = 50*time.Millisecond, 2
	if a, err := c.Beat(context.Background(), &Credentials{Token: KeyIDOf(&testKey), Key: testKey}, Up); !errors.Is(err, ErrNoAnswer) {
		t.Errorf("beat answered by a forger: %+v, %v; want no answer", a, err)
	}
}

// TestServerSurvivesPanic: a renewal that panics goes unanswered and is
// counted; the client's retry (with a counter of its own) is served.
func TestServerSurvivesPanic(t *testing.T) {
	calls := 0
	l := newLeases(&testKey)
	s, _ := startServer(t, func(q Request) Result {
		calls++
		if calls == 1 {
			panic("boom")
		}
		return l.renew(q)
	})
	c, err := Dial(s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Timeout = 100 * time.Millisecond
	if a, err := c.Beat(context.Background(), &Credentials{Token: KeyIDOf(&testKey), Key: testKey}, Unreported); err != nil || a.Status != StatusOK {
		t.Errorf("beat into a panic, then its retry: %+v, %v", a, err)
	}
	if got := testutil.ToFloat64(s.h.failed); got != 1 {
		t.Errorf("errors counted %v, want 1", got)
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
	if _, err := c.Beat(context.Background(), &Credentials{Token: Token{1}}, Unreported); err == nil {
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
	if _, err := c2.Beat(context.Background(), &Credentials{Token: Token{1}}, Unreported); !errors.Is(err, ErrNoAnswer) {
		t.Fatalf("beat to a silent server: %v, want ErrNoAnswer", err)
	}
}

// verifying is a RenewFunc that checks the MAC, as the registry does, and
// renews: what a heartbeat costs besides the lease engine.
func verifying(q Request) Result {
	if !q.Verify(&testKey) {
		return Result{Verdict: BadMAC}
	}
	return Result{Verdict: Renewed, Key: &testKey, Lease: time.Second}
}

// TestAnswerAllocatesNothing: the per-datagram work, which runs on the DNS
// loops: parse, verify, sign the answer.
func TestAnswerAllocatesNothing(t *testing.T) {
	h := NewHandler(Config{Renew: verifying})
	b := Request{Counter: 1, Token: Token{1}, Health: Up}.Append(nil, &testKey)
	out := make([]byte, 0, AnswerSize)
	if resp, _ := h.Answer(b, out); resp == nil {
		t.Fatal("no answer")
	}
	if n := testing.AllocsPerRun(1000, func() { h.Answer(b, out) }); n != 0 {
		t.Errorf("Answer allocates %.1f times per datagram", n)
	}
}

// TestAnswerTellsDNSApart: on a shared port, DNS queries are not ours.
func TestAnswerTellsDNSApart(t *testing.T) {
	h := NewHandler(Config{Renew: verifying})
	query := []byte{0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, 'w', 'w', 'w', 0, 0, 1, 0, 1}
	if resp, ours := h.Answer(query, make([]byte, 0, AnswerSize)); ours || resp != nil {
		t.Errorf("a DNS query was taken for a heartbeat")
	}
	resp, ours := h.Answer(Request{Counter: 5, Token: Token{1}}.Append(nil, &testKey), make([]byte, 0, AnswerSize))
	if a, err := ParseAnswer(resp, &testKey); !ours || err != nil || a.Status != StatusOK || a.Counter != 5 {
		t.Errorf("heartbeat: ours %v, %+v, %v", ours, a, err)
	}
	if resp, ours := h.Answer([]byte("dlhb\x02garbage"), make([]byte, 0, AnswerSize)); !ours || resp != nil {
		t.Errorf("malformed heartbeat: ours %v, answer %x; want ours and no answer", ours, resp)
	}
}

// BenchmarkAnswer is one heartbeat's cost on the DNS loop besides the
// lease engine: parse, verify the MAC, sign the answer.
func BenchmarkAnswer(b *testing.B) {
	h := NewHandler(Config{Renew: verifying})
	q := Request{Counter: 1, Token: Token{1}}.Append(nil, &testKey)
	out := make([]byte, 0, AnswerSize)
	b.ReportAllocs()
	for b.Loop() {
		h.Answer(q, out)
	}
}
