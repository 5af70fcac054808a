package dnsserver_test

import (
	"encoding/binary"
	"log/slog"
	"net"
	"sync/atomic"
	"testing"

	"github.com/miekg/dns"

	"github.com/dnslb/dnslb/internal/dnsserver"
	"github.com/dnslb/dnslb/internal/zone"
)

// recorder is a dns.ResponseWriter that keeps what the handler writes, as
// CoreDNS's dnstest.Recorder does.
type recorder struct {
	local net.Addr
	msgs  []*dns.Msg
}

var (
	udpAddr = &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 53}
	tcpAddr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 53}
)

func (r *recorder) LocalAddr() net.Addr { return r.local }
func (r *recorder) RemoteAddr() net.Addr {
	return &net.UDPAddr{IP: net.IPv4(192, 0, 2, 7), Port: 40000}
}
func (r *recorder) WriteMsg(m *dns.Msg) error {
	r.msgs = append(r.msgs, m)
	return nil
}
func (r *recorder) Write([]byte) (int, error) { panic("the handler writes messages, not bytes") }
func (r *recorder) Close() error              { return nil }
func (r *recorder) TsigStatus() error         { return nil }
func (r *recorder) TsigTimersOnly(bool)       {}
func (r *recorder) Hijack()                   {}

// handler is a Server that is never started, for its ServeDNS.
func handler(tb testing.TB, snap *zone.Snapshot) (*dnsserver.Server, *errorLog) {
	tb.Helper()
	p := new(atomic.Pointer[zone.Snapshot])
	p.Store(snap)
	errs := new(errorLog)
	srv, err := dnsserver.New(dnsserver.Config{Snapshot: p, Logger: slog.New(errs)})
	if err != nil {
		tb.Fatal(err)
	}
	return srv, errs
}

// FuzzServeDNS feeds the handler every message that miekg/dns unpacks
// with one question, or with a header that claims one (what the server's
// accept filter lets through): it
// must write exactly one reply, to that query, that packs and fits, and
// never panic (a recovered panic is logged as an error).
func FuzzServeDNS(f *testing.F) {
	seeds := []*dns.Msg{
		query("www.lb.test.", dns.TypeA),
		query("WwW.Lb.TeSt.", dns.TypeAAAA),
		query("alias.lb.test.", dns.TypeA),
		query("dangling.lb.test.", dns.TypeANY),
		query("multi.lb.test.", dns.TypeA),
		query("huge.lb.test.", dns.TypeAAAA),
		query("long.lb.test.", dns.TypeTXT),
		query("missing.lb.test.", dns.TypeMX),
		query("example.com.", dns.TypeA),
		query(`x\.lb.test.`, dns.TypeA),
		withEDNS(query("big.lb.test.", dns.TypeAAAA), 4096, true, 0),
		withEDNS(query("pool.lb.test.", dns.TypeA), 512, false, 1),
	}
	for _, m := range seeds {
		f.Add(pack(f, m))
	}
	// Pinned: a header with qdcount 1 and nothing after it unpacks as no
	// question; it made ServeDNS panic (index out of range).
	f.Add(header(0x1111, 0, 1))
	srv, errs := handler(f, zone.Build(fixture()))
	f.Fuzz(func(t *testing.T, data []byte) {
		req := new(dns.Msg)
		if req.Unpack(data) != nil || len(req.Question) != 1 && binary.BigEndian.Uint16(data[4:]) != 1 {
			return // the server's accept filter lets through qdcount 1 only
		}
		w := &recorder{local: udpAddr}
		if len(data)%2 == 1 {
			w.local = tcpAddr
		}
		srv.ServeDNS(w, req)
		if e := errs.all(); len(e) > 0 {
			t.Fatalf("handler logged %q", e)
		}
		if len(w.msgs) != 1 {
			t.Fatalf("%d replies, want 1", len(w.msgs))
		}
		r := w.msgs[0]
		if r.Id != req.Id || !r.Response {
			t.Fatalf("reply id %d qr=%v to query %d", r.Id, r.Response, req.Id)
		}
		wire, err := r.Pack()
		if err != nil {
			t.Fatalf("reply does not pack: %v\n%v", err, r)
		}
		if w.local == udpAddr && len(wire) > dnsserver.DefaultMaxUDPSize {
			t.Fatalf("UDP reply of %d bytes", len(wire))
		}
	})
}
