package heartbeat

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"
)

// Client sends heartbeats to one server from one connected UDP socket.
// It is not safe for concurrent use.
type Client struct {
	conn *net.UDPConn
	// Timeout is how long one try waits for its answer; Tries how many
	// datagrams one Beat sends before it gives up.
	Timeout time.Duration
	Tries   int
	buf     [AnswerSize + 1]byte
	out     []byte
}

// Dial returns a Client for the server's heartbeat address ("host:port").
func Dial(addr string) (*Client, error) {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("heartbeat address %q: %w", addr, err)
	}
	conn, err := net.DialUDP("udp", nil, ua)
	if err != nil {
		return nil, fmt.Errorf("heartbeat address %q: %w", addr, err)
	}
	return &Client{conn: conn, Timeout: 300 * time.Millisecond, Tries: 3, out: make([]byte, 0, RequestSize)}, nil
}

// Close closes the socket.
func (c *Client) Close() error { return c.conn.Close() }

// Credentials are what an HTTP renewal hands out for heartbeats to one
// server: the key id, the key, and the counter the next heartbeat must
// exceed.
type Credentials struct {
	Token   Token
	Key     Key
	Counter uint64 // the last counter sent (or the floor the server set)
}

// ErrNoAnswer is returned when no try got an answer in time.
var ErrNoAnswer = errors.New("heartbeat: no answer")

// Beat sends one heartbeat with cr and returns the server's answer,
// retrying lost datagrams; every try has a counter of its own (a resent
// datagram would be a replay). An answer with a status other than
// StatusOK is returned with a nil error: the caller decides
// (StatusUnknown means: renew over HTTP). Answers not signed with cr.Key
// are ignored. An unreachable port fails at once.
func (c *Client) Beat(ctx context.Context, cr *Credentials, health Health) (Answer, error) {
	first := cr.Counter + 1
	for try := 0; try < max(c.Tries, 1); try++ {
		if err := ctx.Err(); err != nil {
			return Answer{}, err
		}
		cr.Counter++
		c.out = Request{Counter: cr.Counter, Token: cr.Token, Health: health}.Append(c.out[:0], &cr.Key)
		if _, err := c.conn.Write(c.out); err != nil {
			return Answer{}, fmt.Errorf("heartbeat: %w", err)
		}
		a, err := c.await(ctx, &cr.Key, first, cr.Counter)
		if !errors.Is(err, errLost) {
			return a, err
		}
	}
	if err := ctx.Err(); err != nil {
		return Answer{}, err
	}
	return Answer{}, ErrNoAnswer
}

var errLost = errors.New("lost")

// await reads until an answer signed with key to a counter in [from, to]
// arrives (errLost when none does in time).
func (c *Client) await(ctx context.Context, key *Key, from, to uint64) (Answer, error) {
	deadline := time.Now().Add(c.Timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := c.conn.SetReadDeadline(deadline); err != nil {
		return Answer{}, err
	}
	for {
		n, err := c.conn.Read(c.buf[:])
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return Answer{}, errLost // send again
		}
		if err != nil {
			return Answer{}, fmt.Errorf("heartbeat: %w", err) // e.g. connection refused: no server there
		}
		a, err := ParseAnswer(c.buf[:n], key)
		if err != nil || a.Counter < from || a.Counter > to {
			continue // a stray, forged or late answer
		}
		return a, nil
	}
}
