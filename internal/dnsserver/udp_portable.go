//go:build !linux

package dnsserver

import (
	"context"
	"errors"
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
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
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
		s.writeAll(pc, out[:k])
	}
}

func newBatch(size int) []ipv4.Message {
	ms := make([]ipv4.Message, batchSize)
	for i := range ms {
		ms[i].Buffers = [][]byte{make([]byte, size)}
	}
	return ms
}

// writeAll sends the batch, retrying the part a short write left.
func (s *Server) writeAll(pc batchConn, ms []ipv4.Message) {
	for len(ms) > 0 {
		n, err := pc.WriteBatch(ms, 0)
		if err != nil {
			s.log.Debug("udp write failed", "err", err)
			if n <= 0 {
				n = 1 // skip the datagram that failed
			}
		}
		ms = ms[n:]
	}
}
