package main

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"sync"
	"time"

	"golang.org/x/net/ipv4"

	"github.com/dnslb/dnslb/internal/heartbeat"
)

// renewPaced sends the heartbeats of renewAll's schedule from one socket:
// every tick, all heartbeats that came due are sent in one sendmmsg, and
// one goroutine reads the answers in batches. The server gets the same
// renewals (each token on its schedule, at most one tick late); the
// harness costs its core an order of magnitude less than one goroutine
// and socket per worker, which matters when it shares that core with
// dnsperf (bench/leases.sh).
func renewPaced(ctx context.Context, addr string, creds []heartbeat.Credentials, every, duration, tick time.Duration, rep *leasesReport) error {
	dst, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return err
	}
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: dst.IP.To4(), Port: 0})
	if err != nil {
		return err
	}
	defer conn.Close()
	pc := ipv4.NewPacketConn(conn)

	n := len(creds)
	// Heartbeat number i carries counter base+1+i, above every set's floor
	// and growing per set; an answer's counter tells which it was.
	var base uint64
	for _, c := range creds {
		base = max(base, c.Counter)
	}
	total := int(int64(n) * int64(duration) / int64(every))
	sent := make([]time.Time, total) // by nonce
	var mu sync.Mutex                // guards sent, latency, errors below
	var latency []time.Duration
	errs := map[string]int{}

	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		msgs := make([]ipv4.Message, 64)
		for i := range msgs {
			msgs[i].Buffers = [][]byte{make([]byte, 64)}
		}
		for {
			k, err := pc.ReadBatch(msgs, 0)
			now := time.Now()
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, net.ErrClosed) {
					return
				}
				continue
			}
			mu.Lock()
			for _, m := range msgs[:k] {
				i, a, err := parsePaced(m.Buffers[0][:m.N], creds, base)
				switch {
				case err != nil || i >= uint64(total) || sent[i].IsZero():
					errs["stray answer"]++
				case a.Status != heartbeat.StatusOK:
					errs["heartbeat: "+a.Status.String()]++
				default:
					latency = append(latency, now.Sub(sent[i]))
				}
			}
			mu.Unlock()
		}
	}()

	var lag []time.Duration
	out := make([]ipv4.Message, 0, 256)
	bufs := make([][]byte, 0, 256)
	ticker := time.NewTicker(tick)
	defer ticker.Stop()
	start := time.Now()
	next := 0
	for next < total {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ticker.C:
		}
		now := time.Now()
		out, bufs = out[:0], bufs[:0]
		mu.Lock()
		for ; next < total; next++ {
			due := start.Add(time.Duration(int64(next) * int64(every) / int64(n)))
			if due.After(now) {
				break
			}
			i := len(bufs)
			if i == cap(bufs) {
				break // more than a batch came due: the rest go with the next tick
			}
			c := &creds[next%n]
			bufs = append(bufs, heartbeat.Request{Counter: base + 1 + uint64(next), Token: c.Token}.Append(nil, &c.Key))
			out = append(out, ipv4.Message{Buffers: [][]byte{bufs[i]}, Addr: dst})
			sent[next] = now
			lag = append(lag, now.Sub(due))
		}
		mu.Unlock()
		for len(out) > 0 {
			k, err := pc.WriteBatch(out, 0)
			if err != nil {
				mu.Lock()
				errs["send: "+err.Error()]++
				mu.Unlock()
				k = max(k, 1)
			}
			out = out[k:]
		}
	}
	elapsed := time.Since(start)
	conn.SetReadDeadline(time.Now().Add(time.Second)) // the last answers
	<-readDone

	mu.Lock()
	defer mu.Unlock()
	if missing := total - len(latency) - countErrs(errs); missing > 0 {
		errs["no answer"] = missing
	}
	rep.ErrorKinds, rep.Errors = errs, countErrs(errs)
	rep.Scheduled, rep.Done = total, len(latency)
	rep.Elapsed = elapsed.Seconds()
	rep.Rate = rate(rep.Done, elapsed)
	rep.Latency, rep.Lag = summarize(latency), summarize(lag)
	return nil
}

func countErrs(errs map[string]int) (n int) {
	for _, c := range errs {
		n += c
	}
	return n
}

// parsePaced reads an answer to heartbeat number i (see renewPaced).
func parsePaced(b []byte, creds []heartbeat.Credentials, base uint64) (i uint64, a heartbeat.Answer, err error) {
	if len(b) != heartbeat.AnswerSize {
		return 0, a, errors.New("not an answer")
	}
	i = binary.BigEndian.Uint64(b[8:16]) - base - 1
	if i >= 1<<62 {
		return i, a, errors.New("not ours")
	}
	a, err = heartbeat.ParseAnswer(b, &creds[i%uint64(len(creds))].Key)
	return i, a, err
}
