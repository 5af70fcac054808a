package cli_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// startServerNofile runs `dnslb serve` on 127.0.0.1 with at most nofile
// open files (ulimit -n in a shell that then becomes the server).
func startServerNofile(t *testing.T, nofile int, args ...string) *server {
	t.Helper()
	args = append([]string{"-c", fmt.Sprintf(`ulimit -n %d && exec "$0" "$@"`, nofile), os.Args[0],
		"serve", "--dns", "127.0.0.1:0", "--api", "127.0.0.1:0", "--data", t.TempDir(), "--zone", "lb.test"}, args...)
	cmd := exec.Command("/bin/sh", args...)
	cmd.Env = append(os.Environ(), "DNSLB_TEST_MAIN=1")
	return startServerCmd(t, cmd)
}

// TestSlowConnectionsDoNotStarveAPIOrDNS: 500 connections from ten
// sources that send a body slowly or idle after a request (slowloris),
// against a server limited to 256 open files, leave the API answering a
// legitimate client within seconds and DNS answering over TCP.
func TestSlowConnectionsDoNotStarveAPIOrDNS(t *testing.T) {
	s := startServerNofile(t, 256)
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := range 500 {
		d := net.Dialer{Timeout: time.Second, LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(1+i%10))}}
		c, err := d.Dial("tcp", s.api)
		if err != nil {
			continue // the server's backlog is full: the attack is working or refused
		}
		conns = append(conns, c)
		req := "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" // then idle, kept alive
		if i%2 == 0 {
			req = "PUT /v1/zones/lb.test/rrsets HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"
		}
		_ = c.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = io.WriteString(c, req)
	}
	t.Logf("%d slow connections open", len(conns))
	// A legitimate client, from a source of its own, retrying as clients
	// do when a connection is refused: answered within seconds, not after
	// the slow connections' timeouts (30 s, 60 s idle).
	start := time.Now()
	legit := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DialContext: (&net.Dialer{
		LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 20)}}).DialContext}}
	var lastErr error
	for time.Since(start) < 5*time.Second {
		resp, err := legit.Get("http://" + s.api + "/v1/zones")
		if lastErr = err; err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("API under 500 slow connections: %s", resp.Status)
			}
			break
		}
		time.Sleep(100 * time.Millisecond) // a client's retry delay
	}
	if lastErr != nil {
		t.Fatalf("API under 500 slow connections: %v\n%s", lastErr, tail(s.stderr.String(), 2000))
	}
	t.Logf("API answered in %s", time.Since(start))
	m := new(dns.Msg)
	m.SetQuestion("lb.test.", dns.TypeSOA)
	c := &dns.Client{Net: "tcp", Timeout: 5 * time.Second}
	r, _, err := c.Exchange(m, s.dns)
	if err != nil || r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
		t.Fatalf("DNS over TCP under 500 slow API connections: %v %v\n%s", r, err, tail(s.stderr.String(), 2000))
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
