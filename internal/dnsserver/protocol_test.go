package dnsserver_test

import (
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/dnslb/dnslb/internal/zone"
)

// pack packs m, or fails the test.
func pack(t testing.TB, m *dns.Msg) []byte {
	t.Helper()
	wire, err := m.Pack()
	if err != nil {
		t.Fatalf("Pack: %v", err)
	}
	return wire
}

// header is a bare 12-byte header: id, flags and qdcount.
func header(id, flags, qdcount uint16) []byte {
	h := make([]byte, 12)
	binary.BigEndian.PutUint16(h[0:], id)
	binary.BigEndian.PutUint16(h[2:], flags)
	binary.BigEndian.PutUint16(h[4:], qdcount)
	return h
}

// send writes one packet on c (framed on TCP).
func send(t testing.TB, c net.Conn, pkt []byte) {
	t.Helper()
	if _, ok := c.(*net.TCPConn); ok {
		pkt = append(binary.BigEndian.AppendUint16(nil, uint16(len(pkt))), pkt...)
	}
	if _, err := c.Write(pkt); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// receive reads one reply from c.
func receive(t testing.TB, c net.Conn) *dns.Msg {
	t.Helper()
	if err := c.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	var buf []byte
	if _, ok := c.(*net.TCPConn); ok {
		var l [2]byte
		if _, err := io.ReadFull(c, l[:]); err != nil {
			t.Fatalf("read length: %v", err)
		}
		buf = make([]byte, binary.BigEndian.Uint16(l[:]))
		if _, err := io.ReadFull(c, buf); err != nil {
			t.Fatalf("read reply: %v", err)
		}
	} else {
		buf = make([]byte, 65535)
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("read reply: %v", err)
		}
		buf = buf[:n]
	}
	r := new(dns.Msg)
	if err := r.Unpack(buf); err != nil {
		t.Fatalf("unpack reply: %v", err)
	}
	return r
}

func TestMalformedAndUnsupported(t *testing.T) {
	ts := start(t, zone.Build(fixture()), nil)
	two := query("www.lb.test.", dns.TypeA)
	two.Question = append(two.Question, dns.Question{Name: "lb.test.", Qtype: dns.TypeSOA, Qclass: dns.ClassINET})
	notify := new(dns.Msg).SetNotify("lb.test.")
	update := new(dns.Msg).SetUpdate("lb.test.")
	update.Insert(rrs("x.lb.test. 60 IN A 192.0.2.66"))
	chaos := query("version.bind.", dns.TypeTXT)
	chaos.Question[0].Qclass = dns.ClassCHAOS
	hesiod := query("www.lb.test.", dns.TypeA)
	hesiod.Question[0].Qclass = dns.ClassHESIOD
	anyClass := query("www.lb.test.", dns.TypeA)
	anyClass.Question[0].Qclass = dns.ClassANY
	axfr, ixfr := query("lb.test.", dns.TypeAXFR), query("lb.test.", dns.TypeIXFR)
	withAnswer := query("www.lb.test.", dns.TypeA)
	withAnswer.Answer = rrs("www.lb.test. 60 IN A 192.0.2.1")
	var (
		id0     = uint16(0x1111)
		trailer = append(pack(t, query("www.lb.test.", dns.TypeA)), 0xde, 0xad)
		rest    = pack(t, query("www.lb.test.", dns.TypeA))
	)
	binary.BigEndian.PutUint16(trailer, id0)
	binary.BigEndian.PutUint16(rest, id0)
	rest[11] = 1 // arcount 1, and no record follows
	cases := []struct {
		name    string
		pkt     []byte
		rcode   int
		opcode  int
		answers int
	}{
		{"qdcount 0", header(id0, 0, 0), dns.RcodeFormatError, dns.OpcodeQuery, 0},
		{"qdcount 2", pack(t, two), dns.RcodeFormatError, dns.OpcodeQuery, 0},
		{"qdcount 1, no question", header(id0, 0, 1), dns.RcodeFormatError, dns.OpcodeQuery, 0},
		{"an answer in a query", pack(t, withAnswer), dns.RcodeFormatError, dns.OpcodeQuery, 0},
		{"arcount past the end", rest, dns.RcodeSuccess, dns.OpcodeQuery, 2}, // forgiven, as miekg/dns does
		{"NOTIFY", pack(t, notify), dns.RcodeNotImplemented, dns.OpcodeNotify, 0},
		{"UPDATE", pack(t, update), dns.RcodeNotImplemented, dns.OpcodeUpdate, 0},
		{"status opcode", header(id0, uint16(dns.OpcodeStatus)<<11, 0), dns.RcodeNotImplemented, dns.OpcodeStatus, 0},
		{"class CHAOS", pack(t, chaos), dns.RcodeRefused, dns.OpcodeQuery, 0},
		{"class HESIOD", pack(t, hesiod), dns.RcodeRefused, dns.OpcodeQuery, 0},
		{"class ANY", pack(t, anyClass), dns.RcodeSuccess, dns.OpcodeQuery, 2},
		{"trailing bytes", trailer, dns.RcodeSuccess, dns.OpcodeQuery, 2},
		{"AXFR", pack(t, axfr), dns.RcodeRefused, dns.OpcodeQuery, 0},
		{"IXFR", pack(t, ixfr), dns.RcodeRefused, dns.OpcodeQuery, 0},
	}
	for _, network := range []string{"udp", "tcp"} {
		for _, tc := range cases {
			t.Run(network+"/"+tc.name, func(t *testing.T) {
				c := dial(t, network, ts.Addr())
				send(t, c, tc.pkt)
				r := receive(t, c)
				id := binary.BigEndian.Uint16(tc.pkt)
				if r.Id != id || !r.Response || r.Rcode != tc.rcode || r.Opcode != tc.opcode || len(r.Answer) != tc.answers {
					t.Errorf("reply id %#x qr=%v %s opcode %d with %d answers; want id %#x, qr, %s, opcode %d, %d answers",
						r.Id, r.Response, dns.RcodeToString[r.Rcode], r.Opcode, len(r.Answer),
						id, dns.RcodeToString[tc.rcode], tc.opcode, tc.answers)
				}
				if tc.rcode == dns.RcodeRefused && r.Authoritative {
					t.Error("REFUSED with AA set")
				}
			})
		}
	}
}

// A packet with QR set is a response: it gets none. On TCP, queries of one
// connection are answered in order, so the reply that comes first must be
// the query's; on UDP, the same is very likely.
func TestResponsesIgnored(t *testing.T) {
	ts := start(t, zone.Build(fixture()), nil)
	resp := query("www.lb.test.", dns.TypeA)
	resp.Id, resp.Response = 0x2222, true
	q := query("www.lb.test.", dns.TypeA)
	q.Id = 0x3333
	for _, network := range []string{"tcp", "udp"} {
		c := dial(t, network, ts.Addr())
		send(t, c, pack(t, resp))
		send(t, c, header(0x2222, 1<<15, 0)) // a bare response header
		send(t, c, pack(t, q))
		if r := receive(t, c); r.Id != q.Id || r.Rcode != dns.RcodeSuccess {
			t.Errorf("%s: first reply id %#x %s, want the query's %#x", network, r.Id, dns.RcodeToString[r.Rcode], q.Id)
		}
	}
}
