package heartbeat

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
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

// ErrNoAnswer is returned when no try got an answer in time.
var ErrNoAnswer = errors.New("heartbeat: no answer")

// Beat sends one heartbeat and returns the server's answer, retrying lost
// datagrams. An answer with a status other than StatusOK is returned with
// a nil error: the caller decides (StatusUnknown means: renew over HTTP).
// An unreachable port fails at once.
func (c *Client) Beat(ctx context.Context, tok Token, health Health) (Answer, error) {
	q := Request{Nonce: rand.Uint64(), Token: tok, Health: health}
	c.out = q.Append(c.out[:0])
	for try := 0; try < max(c.Tries, 1); try++ {
		if err := ctx.Err(); err != nil {
			return Answer{}, err
		}
		if _, err := c.conn.Write(c.out); err != nil {
			return Answer{}, fmt.Errorf("heartbeat: %w", err)
		}
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
				break // lost: send again
			}
			if err != nil {
				return Answer{}, fmt.Errorf("heartbeat: %w", err) // e.g. connection refused: no server there
			}
			a, err := ParseAnswer(c.buf[:n])
			if err != nil || a.Nonce != q.Nonce {
				continue // a stray or late answer
			}
			return a, nil
		}
	}
	if err := ctx.Err(); err != nil {
		return Answer{}, err
	}
	return Answer{}, ErrNoAnswer
}
