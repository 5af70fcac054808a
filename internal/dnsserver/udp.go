package dnsserver

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/sync/errgroup"

	"github.com/dnslb/dnslb/internal/sockerr"
)

// UDP is served by our own loops rather than miekg/dns's server: one
// SO_REUSEPORT socket per core, each read and written in batches
// (recvmmsg/sendmmsg), each query answered on the loop's goroutine by the
// fast path, or by ServeDNS for anything unusual. A profile of the miekg
// server showed 55% of CPU in syscalls — a sendmsg with control data per
// answer — and a goroutine started per query. The loop itself is per
// platform: udp_linux.go blocks in recvmmsg on the socket; elsewhere
// (udp_portable.go) golang.org/x/net batches through the runtime poller.

// batchSize is how many datagrams one recvmmsg/sendmmsg moves at most.
const batchSize = 32

// maxQuery is the largest query read; anything longer is truncated by the
// kernel and fails to parse.
const maxQuery = 4096

// listenUDP binds n sockets on addr with SO_REUSEPORT, so the kernel
// spreads clients over them; with port 0 all take the first one's port.
func listenUDP(addr string, n int) ([]*net.UDPConn, error) {
	if !reusePortWorks {
		n = 1 // one socket; it cannot be shared
	}
	lc := net.ListenConfig{Control: reusePort}
	var conns []*net.UDPConn
	for range n {
		pc, err := lc.ListenPacket(context.Background(), "udp", addr)
		if err != nil {
			closeAll(conns)
			return nil, err
		}
		conns = append(conns, pc.(*net.UDPConn))
		addr = pc.LocalAddr().String()
	}
	return conns, nil
}

func closeAll(conns []*net.UDPConn) {
	for _, c := range conns {
		c.Close()
	}
}

// serveUDP runs one loop per socket until ctx ends; each loop finishes
// the batch in hand. A loop that fails stops the others and its error is
// returned: the kernel spreads clients over the sockets by a hash, so a
// dead socket would silently leave its share of them without answers.
func (s *Server) serveUDP(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	for i, c := range s.udp {
		g.Go(func() error {
			if err := s.udpLoop(gctx, c); err != nil {
				return fmt.Errorf("dns: udp socket %d of %d: %w", i+1, len(s.udp), err)
			}
			return nil
		})
	}
	return g.Wait()
}

// transient reports whether a socket error is one that retrying can fix.
func transient(err error) bool { return sockerr.Transient(err) }

// retryPause is how long a loop waits after a transient error.
const retryPause = sockerr.RetryPause

// readFailed decides what a loop does after a failed read: nil to stop
// (ctx ended), errRetry to read again after a pause, or the error that
// ends serving.
func readFailed(ctx context.Context, err error) error {
	switch {
	case ctx.Err() != nil:
		return nil
	case transient(err):
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(retryPause):
			return errRetry
		}
	}
	return err
}

// errRetry tells a loop to read again.
var errRetry = errors.New("retry")

// slowRespond answers a datagram the fast path declined with the full
// handler, packing the reply into buf.
func (s *Server) slowRespond(req, buf []byte, w *udpWriter, remote net.Addr) []byte {
	w.remote, w.buf, w.out = remote, buf[:0], nil
	s.slowAnswer(req, w)
	return w.out
}

// answerUDP answers one datagram from src into buf: Config.Datagram's
// protocol, the fast path, or the full handler (remote gives the peer for
// the latter); DNS responses then pass response rate limiting. nil means
// no answer.
func (s *Server) answerUDP(req, buf []byte, sc *scratch, w *udpWriter, src netip.Addr, remote func() net.Addr) []byte {
	if s.cfg.Datagram != nil {
		if resp, ours := s.cfg.Datagram(req, buf); ours {
			return resp
		}
	}
	resp := s.tryFast(req, buf, sc)
	if resp == nil {
		resp = s.slowRespond(req, buf, w, remote())
	}
	return s.rrl.limit(resp, src, &sc.rrl)
}

// tryFast runs the fast path, turning a panic into a log line and nil.
func (s *Server) tryFast(req, buf []byte, sc *scratch) (resp []byte) {
	defer func() {
		if v := recover(); v != nil {
			s.log.Error("fast path panicked; the full handler answers", "panic", v)
			resp = nil
		}
	}()
	return s.fastAnswer(req, buf, sc)
}

// slowAnswer does what miekg/dns's server does with a datagram: filter it
// by its header, reject it with FORMERR or NOTIMP, or unpack it and call
// ServeDNS.
func (s *Server) slowAnswer(req []byte, w dns.ResponseWriter) {
	if len(req) < 12 {
		return // not even a header: no reply can be addressed
	}
	dh := dns.Header{
		Id: binary.BigEndian.Uint16(req), Bits: binary.BigEndian.Uint16(req[2:]),
		Qdcount: binary.BigEndian.Uint16(req[4:]), Ancount: binary.BigEndian.Uint16(req[6:]),
		Nscount: binary.BigEndian.Uint16(req[8:]), Arcount: binary.BigEndian.Uint16(req[10:]),
	}
	action := accept(dh)
	m := new(dns.Msg)
	if action == dns.MsgAccept {
		if err := m.Unpack(req); err == nil {
			s.ServeDNS(w, m)
			return
		}
		action = dns.MsgReject
	}
	if action == dns.MsgIgnore {
		return
	}
	s.reject(w, dh, action)
}

// reject answers a query refused by accept: the header only, FORMERR or
// NOTIMP.
func (s *Server) reject(w dns.ResponseWriter, dh dns.Header, action dns.MsgAcceptAction) {
	m := new(dns.Msg)
	m.Id = dh.Id
	m.Response = true
	m.Opcode = int(dh.Bits>>11) & 0xF
	m.Rcode = dns.RcodeFormatError
	if action == dns.MsgRejectNotImplemented {
		m.Rcode = dns.RcodeNotImplemented
	}
	_ = w.WriteMsg(m)
}

// udpWriter is the dns.ResponseWriter of the full handler on our loops:
// it packs the reply into the loop's buffer.
type udpWriter struct {
	local, remote net.Addr
	buf, out      []byte
}

func (w *udpWriter) LocalAddr() net.Addr  { return w.local }
func (w *udpWriter) RemoteAddr() net.Addr { return w.remote }

func (w *udpWriter) WriteMsg(m *dns.Msg) error {
	b, err := m.PackBuffer(w.buf)
	if err != nil {
		return fmt.Errorf("pack reply: %w", err)
	}
	w.out = b
	return nil
}

func (w *udpWriter) Write(b []byte) (int, error) {
	w.out = append(w.buf[:0], b...)
	return len(b), nil
}

func (w *udpWriter) Close() error        { return nil }
func (w *udpWriter) TsigStatus() error   { return nil }
func (w *udpWriter) TsigTimersOnly(bool) {}
func (w *udpWriter) Hijack()             {}
