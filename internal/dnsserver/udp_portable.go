//go:build !linux

package dnsserver

import (
	"context"
	"net"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

type batchConn interface {
	ReadBatch(ms []ipv4.Message, flags int) (int, error)
	WriteBatch(ms []ipv4.Message, flags int) (int, error)
}

// udpLoop reads a batch, answers each query in it, writes the answers,
// until ctx ends. x/net moves one datagram per call where the platform has
// no recvmmsg.
func (s *Server) udpLoop(ctx context.Context, c *net.UDPConn) error {
	var pc batchConn = ipv4.NewPacketConn(c)
	if a, ok := c.LocalAddr().(*net.UDPAddr); ok && a.IP.To4() == nil {
		pc = ipv6.NewPacketConn(c)
	}
	stop := context.AfterFunc(ctx, func() { c.SetReadDeadline(time.Now()) })
	defer stop()
	in, out := newBatch(maxQuery), newBatch(65535)
	sc := new(scratch)
	w := &udpWriter{local: c.LocalAddr()}
	for {
		n, err := pc.ReadBatch(in, 0)
		if err != nil {
			if err = readFailed(ctx, err); err == errRetry {
				continue
			}
			return err
		}
		s.rrlBatch(sc) // rrl.go
		k := 0
		for i := range in[:n] {
			req, buf := in[i].Buffers[0][:in[i].N], out[k].Buffers[0][:cap(out[k].Buffers[0])]
			resp := s.answerUDP(req, buf, sc, w, addrOf(in[i].Addr), func() net.Addr { return in[i].Addr })
			if resp == nil {
				continue
			}
			out[k].Buffers[0], out[k].Addr = resp, in[i].Addr
			k++
		}
		if err := s.writeAll(pc, out[:k]); err != nil && ctx.Err() == nil {
			return err
		}
	}
}

func newBatch(size int) []ipv4.Message {
	ms := make([]ipv4.Message, batchSize)
	for i := range ms {
		ms[i].Buffers = [][]byte{make([]byte, size)}
	}
	return ms
}

// writeAll sends the batch, retrying the part a short write left and
// skipping a datagram refused for a transient reason; it fails when the
// socket does.
func (s *Server) writeAll(pc batchConn, ms []ipv4.Message) error {
	for len(ms) > 0 {
		n, err := pc.WriteBatch(ms, 0)
		if err != nil {
			if !transient(err) {
				return err
			}
			s.log.Debug("udp write failed", "err", err)
			if n <= 0 {
				n = 1 // skip the datagram that failed
			}
		}
		ms = ms[n:]
	}
	return nil
}
