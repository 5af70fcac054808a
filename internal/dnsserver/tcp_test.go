package dnsserver_test

import (
	"encoding/binary"
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/dnslb/dnslb/internal/dnsserver"
	"github.com/dnslb/dnslb/internal/zone"
)

// pipeline writes n queries for www.lb.test A (ids 0..n-1) on one TCP
// connection in one go, then reads answers until the server closes; it
// returns the ids answered, in order, and how the stream ended (nil: n
// answers came and the client closed).
func pipeline(t *testing.T, addr string, n int) ([]int, error) {
	t.Helper()
	c := dial(t, "tcp", addr)
	var buf []byte
	for i := range n {
		q := query("www.lb.test.", dns.TypeA)
		q.Id = uint16(i)
		wire := pack(t, q)
		buf = binary.BigEndian.AppendUint16(buf, uint16(len(wire)))
		buf = append(buf, wire...)
	}
	werr := make(chan error, 1)
	go func() { _, err := c.Write(buf); werr <- err }() // the server may stop reading
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var ids []int
	var end error
	for len(ids) < n {
		var l [2]byte
		if _, end = io.ReadFull(c, l[:]); end != nil {
			break
		}
		m := make([]byte, binary.BigEndian.Uint16(l[:]))
		if _, end = io.ReadFull(c, m); end != nil {
			break
		}
		r := new(dns.Msg)
		if err := r.Unpack(m); err != nil || len(r.Answer) != 2 {
			t.Fatalf("answer %d: %v %v", len(ids), err, r)
		}
		ids = append(ids, int(r.Id))
	}
	if end == nil { // all answered; does the server close now?
		var b [1]byte
		c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if _, err := c.Read(b[:]); !errors.Is(err, os.ErrDeadlineExceeded) {
			end = err
		}
	}
	c.Close()
	<-werr
	return ids, end
}

// TestTCPPipelined: a resolver pipelining 1,000 queries on one connection
// gets 1,000 answers, in order (miekg/dns's default closed after 128 with
// the rest unread: a reset that lost answers already sent).
func TestTCPPipelined(t *testing.T) {
	ts := start(t, zone.Build(fixture()), nil)
	const n = 1000
	ids, end := pipeline(t, ts.Addr(), n)
	if len(ids) != n || end != nil {
		t.Fatalf("%d answers to %d pipelined queries, then %v", len(ids), n, end)
	}
	for i, id := range ids {
		if id != i {
			t.Fatalf("answer %d has id %d", i, id)
		}
	}
}

// TestTCPMaxQueriesClosesGracefully: with a limit, the server answers that
// many queries and then closes: the client reads every answer and then the
// end of the stream, not a reset, though it sent more.
func TestTCPMaxQueriesClosesGracefully(t *testing.T) {
	const limit = 100
	ts := start(t, zone.Build(fixture()), func(c *dnsserver.Config) { c.TCPMaxQueries = limit })
	for range 3 {
		ids, end := pipeline(t, ts.Addr(), 3*limit)
		if len(ids) != limit || !errors.Is(end, io.EOF) {
			t.Fatalf("%d answers (want %d), then %v (want EOF)", len(ids), limit, end)
		}
	}
	// Fewer than the limit: all answered, the connection stays open.
	c := dial(t, "tcp", ts.Addr())
	co := &dns.Conn{Conn: c}
	for i := range limit - 1 {
		q := query("www.lb.test.", dns.TypeA)
		q.Id = uint16(i)
		if err := co.WriteMsg(q); err != nil {
			t.Fatal(err)
		}
		if r, err := co.ReadMsg(); err != nil || r.Id != q.Id {
			t.Fatalf("query %d: %v %v", i, r, err)
		}
	}
}

// TestTCPIdleClosedGracefully: the idle timeouts stay (2 s before the first
// query), and an idle connection ends with FIN, not a reset.
func TestTCPIdleClosedGracefully(t *testing.T) {
	ts := start(t, zone.Build(fixture()), nil)
	c := dial(t, "tcp", ts.Addr())
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	began := time.Now()
	var b [1]byte
	if _, err := c.Read(b[:]); !errors.Is(err, io.EOF) {
		t.Fatalf("idle connection: %v, want EOF", err)
	}
	if waited := time.Since(began); waited < time.Second || waited > 5*time.Second {
		t.Errorf("closed after %s idle, want about 2 s", waited)
	}
}
