package dnsserver_test

import (
	"bytes"
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/dnslb/dnslb/internal/dnsserver"
	"github.com/dnslb/dnslb/internal/heartbeat"
	"github.com/dnslb/dnslb/internal/zone"
)

// TestDatagramSharesThePort: with Config.Datagram (lease heartbeats), the
// UDP loops hand it every datagram first: heartbeats are answered by it,
// DNS queries as before, over the same socket and in the same batches.
func TestDatagramSharesThePort(t *testing.T) {
	var beats atomic.Int64
	key := heartbeat.Key{7}
	h := heartbeat.NewHandler(heartbeat.Config{Renew: func(q heartbeat.Request) heartbeat.Result {
		if q.Token != (heartbeat.Token{7}) || !q.Verify(&key) {
			return heartbeat.Result{Verdict: heartbeat.NoKey}
		}
		beats.Add(1)
		return heartbeat.Result{Verdict: heartbeat.Renewed, Key: &key, Lease: 15 * time.Second}
	}})
	ts := start(t, zone.Build(fixture()), func(c *dnsserver.Config) { c.Datagram = h.Answer })

	// Heartbeats through the real client, to the DNS port.
	c, err := heartbeat.Dial(ts.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for range 3 {
		if a, err := c.Beat(t.Context(), &heartbeat.Credentials{Token: heartbeat.Token{7}, Key: key}, heartbeat.Up); err != nil || a.Status != heartbeat.StatusOK || a.Lease != 15*time.Second {
			t.Fatalf("heartbeat on the DNS port: %+v, %v", a, err)
		}
	}
	c.Timeout, c.Tries = 50*time.Millisecond, 1
	if a, err := c.Beat(t.Context(), &heartbeat.Credentials{Token: heartbeat.Token{8}, Key: key}, heartbeat.Unreported); !errors.Is(err, heartbeat.ErrNoAnswer) {
		t.Errorf("unknown token: %+v, %v; want no answer", a, err)
	}
	if beats.Load() != 3 {
		t.Errorf("%d renewals, want 3", beats.Load())
	}

	// DNS on the same port, before and after a malformed heartbeat, which
	// gets no answer at all (not a DNS NOTIMP for "opcode 13").
	tableCase := query("www.lb.test.", dns.TypeA)
	if r := exchange(t, "udp", ts.Addr(), tableCase); r.Rcode != dns.RcodeSuccess || len(r.Answer) == 0 {
		t.Fatalf("DNS with heartbeats on: %v", r)
	}
	raw := dial(t, "udp", ts.Addr())
	bad := append(heartbeat.Request{Counter: 1, Token: heartbeat.Token{7}}.Append(nil, &key), 0) // one byte too long
	q, _ := query("www.lb.test.", dns.TypeA).Pack()
	for _, b := range [][]byte{bad, q} {
		if _, err := raw.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 1500)
	raw.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := raw.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	var m dns.Msg
	if err := m.Unpack(buf[:n]); err != nil || !bytes.Equal(buf[:2], q[:2]) || m.Rcode != dns.RcodeSuccess {
		t.Errorf("first answer after a malformed heartbeat and a query: %v (%v); want the query's", m.String(), err)
	}
}

// TestUDPHeartbeatAllocatesNothing: heartbeats on the DNS port cost the
// loops no allocation, like queries.
func TestUDPHeartbeatAllocatesNothing(t *testing.T) {
	key := heartbeat.Key{1}
	h := heartbeat.NewHandler(heartbeat.Config{Renew: func(q heartbeat.Request) heartbeat.Result {
		if !q.Verify(&key) {
			return heartbeat.Result{Verdict: heartbeat.BadMAC}
		}
		return heartbeat.Result{Verdict: heartbeat.Renewed, Key: &key, Lease: time.Second}
	}})
	ts := start(t, zone.Build(fixture()), func(c *dnsserver.Config) { c.Datagram = h.Answer })
	conn, err := net.Dial("udp", ts.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	req := heartbeat.Request{Counter: 1, Token: heartbeat.Token{1}, Health: heartbeat.Up}.Append(nil, &key)
	buf := make([]byte, 64)
	rt := func() {
		if _, err := conn.Write(req); err != nil {
			t.Fatal(err)
		}
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		if n, err := conn.Read(buf); err != nil || n != heartbeat.AnswerSize {
			t.Fatalf("answer: %d bytes, %v", n, err)
		}
	}
	if allocs := processAllocsPer(rt); allocs > 0.1 {
		t.Errorf("%.2f allocations per heartbeat, want 0", allocs)
	}
}
