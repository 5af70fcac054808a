package api_test

import (
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/dnslb/dnslb/internal/api"
)

// closedSoon reports whether the server closes c within d.
func closedSoon(c net.Conn, d time.Duration) bool {
	_ = c.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, c) // returns nil at EOF
	return err == nil
}

// TestSlowBodyTimedOut: a request whose body never arrives is cut off
// after the read timeout, and so is an idle kept-alive connection.
func TestSlowBodyTimedOut(t *testing.T) {
	s := runAPI(t, api.Config{ReadTimeout: 300 * time.Millisecond, IdleTimeout: 300 * time.Millisecond})
	slow, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	io.WriteString(slow, "PUT /v1/zones/lb.test/rrsets HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")
	idle, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	io.WriteString(idle, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	if !closedSoon(slow, 5*time.Second) {
		t.Error("a slow body kept its connection open")
	}
	if !closedSoon(idle, 5*time.Second) {
		t.Error("an idle kept-alive connection stayed open")
	}
}

// TestConnectionsPerSource: connections over the per-source cap are
// closed at once; another source is still served.
func TestConnectionsPerSource(t *testing.T) {
	s := runAPI(t, api.Config{MaxConnsPerIP: 3})
	var held []net.Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for range 3 {
		c, err := net.Dial("tcp", s.Addr())
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	extra, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	if !closedSoon(extra, 5*time.Second) {
		t.Error("a fourth connection from one source was kept")
	}
	other := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DialContext: (&net.Dialer{
		LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}).DialContext}}
	resp, err := other.Get("http://" + s.Addr() + "/healthz")
	if err != nil {
		t.Fatalf("another source: %v", err)
	}
	resp.Body.Close()
	held[0].Close()
	// The place comes back once the server has seen the close: retry
	// until then.
	deadline := time.Now().Add(5 * time.Second)
	for !answered(t, s.Addr()) {
		if time.Now().After(deadline) {
			t.Fatal("a closed connection did not give its place back")
		}
	}
}

// answered reports whether a request from 127.0.0.1 to addr got an answer.
func answered(t *testing.T, addr string) bool {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, _ := io.ReadAll(c)
	return len(b) > 0
}

// TestFullServerEvictsWaitingConnection: at the overall limit, a new
// connection takes the place of one that has sent no request, so idle
// connections from many sources cannot keep a client out.
func TestFullServerEvictsWaitingConnection(t *testing.T) {
	s := runAPI(t, api.Config{MaxConns: 3})
	var held []net.Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for i := range 3 {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(1+i))}}
		c, err := d.Dial("tcp", s.Addr())
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	if !answered(t, s.Addr()) {
		t.Fatal("a full server turned a new client away")
	}
	if !closedSoon(held[0], 5*time.Second) {
		t.Error("the oldest waiting connection was kept")
	}
}
