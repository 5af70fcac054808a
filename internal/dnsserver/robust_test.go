package dnsserver_test

import (
	"encoding/binary"
	"io"
	"math/rand/v2"
	"net"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/dnslb/dnslb/internal/zone"
)

// junk returns n packets from r: random bytes, valid queries cut short,
// valid queries with bytes changed, and headers that promise more than
// follows.
func junk(t testing.TB, r *rand.Rand, n int) [][]byte {
	t.Helper()
	names := []string{"www.lb.test.", "pool.lb.test.", "huge.lb.test.", "alias.lb.test.", "missing.lb.test.", "example.com.", "lb.test."}
	types := []uint16{dns.TypeA, dns.TypeAAAA, dns.TypeANY, dns.TypeTXT, dns.TypeSOA, dns.TypeNS, dns.TypeCNAME}
	valid := func() []byte {
		m := query(names[r.IntN(len(names))], types[r.IntN(len(types))])
		if r.IntN(2) == 0 {
			m.SetEdns0(uint16(r.IntN(5000)), r.IntN(2) == 0)
		}
		return pack(t, m)
	}
	out := make([][]byte, n)
	for i := range out {
		var p []byte
		switch i % 4 {
		case 0:
			p = make([]byte, r.IntN(600))
			for j := range p {
				p[j] = byte(r.Uint32())
			}
		case 1:
			p = valid()
			p = p[:r.IntN(len(p))]
		case 2:
			p = valid()
			for range 1 + r.IntN(4) {
				p[r.IntN(len(p))] = byte(r.Uint32())
			}
			p[2] &^= 0x80 // stay a query, so that it reaches the handler
		case 3:
			p = header(uint16(r.Uint32()), 0, 1)
			binary.BigEndian.PutUint16(p[6:], uint16(r.IntN(3)))  // ancount
			binary.BigEndian.PutUint16(p[10:], uint16(r.IntN(4))) // arcount
			q := valid()[12:]
			p = append(p, q[:r.IntN(len(q))]...)
		}
		out[i] = p
	}
	return out
}

// Garbage over real sockets never takes the server down.
func TestGarbage(t *testing.T) {
	ts := start(t, zone.Build(fixture()), nil)
	addr := ts.Addr()
	r := rand.New(rand.NewPCG(1, 2))

	udp := dial(t, "udp", addr)
	for i, p := range junk(t, r, 3000) {
		if _, err := udp.Write(p); err != nil {
			t.Fatalf("udp write: %v", err)
		}
		if i%50 == 49 {
			pace(t, udp, uint16(i))
		}
	}

	pkts := junk(t, r, 3000)
	for len(pkts) > 0 {
		n := min(len(pkts), 25)
		garbageTCP(t, addr, pkts[:n], r.IntN(4) == 0)
		pkts = pkts[n:]
	}

	for _, network := range []string{"udp", "tcp"} {
		if r := exchange(t, network, addr, query("www.lb.test.", dns.TypeA)); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 2 {
			t.Errorf("after garbage, over %s: %s with %d answers", network, dns.RcodeToString[r.Rcode], len(r.Answer))
		}
	}
}

// pace sends a query with id on c and reads replies until its own: the
// server has then read what came before (no datagram lost to a full
// socket buffer).
func pace(t *testing.T, c net.Conn, id uint16) {
	t.Helper()
	q := query("www.lb.test.", dns.TypeA)
	q.Id = id
	send(t, c, pack(t, q))
	for receive(t, c).Id != id {
	}
}

// garbageTCP sends pkts on one connection, framed (with a lying last
// length when lie), reading whatever comes back until the server closes.
func garbageTCP(t *testing.T, addr string, pkts [][]byte, lie bool) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.Close()
	drained := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, c)
		drained <- err
	}()
	var buf []byte
	for _, p := range pkts {
		buf = binary.BigEndian.AppendUint16(buf, uint16(len(p)))
		buf = append(buf, p...)
	}
	if lie {
		buf = binary.BigEndian.AppendUint16(buf, 0xffff)
		buf = append(buf, 1, 2, 3)
	}
	if _, err := c.Write(buf); err != nil {
		t.Logf("tcp write: %v", err) // the server may hang up on garbage
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		t.Logf("close write: %v", err)
	}
	select {
	case <-drained:
	case <-time.After(10 * time.Second):
		t.Fatal("the server kept the connection open after EOF")
	}
}
