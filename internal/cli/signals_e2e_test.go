package cli_test

import (
	"bufio"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// TestServeIgnoresSIGHUP: SIGHUP (a closed terminal, a reload by habit)
// leaves the server running and answering, and says so in the log.
func TestServeIgnoresSIGHUP(t *testing.T) {
	s := startServer(t, "127.0.0.15", t.TempDir(), "--demo")
	for range 2 {
		if err := s.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 10*time.Second, "the SIGHUP log line", func() bool {
		select {
		case <-s.exited:
			t.Fatalf("dnslb serve exited on SIGHUP:\n%s", s.stderr)
		default:
		}
		return strings.Contains(s.stderr.String(), "SIGHUP: reloaded the API's tokens and certificate")
	})
	if r := s.query(t, "www.lb.test.", dns.TypeA, "udp"); len(r.Answer) != 1 {
		t.Errorf("after SIGHUP: %v", r)
	}
	s.run(t, "zone", "ls")
	s.stop(t)
}

// TestShutdownCutsHangingRequest: a request still running when --shutdown
// has passed (here a body that never ends) is cut; the server logs how
// many it cut and exits 0.
func TestShutdownCutsHangingRequest(t *testing.T) {
	s := startServer(t, "127.0.0.15", t.TempDir(), "--zone", "lb.test", "--shutdown", "500ms")
	conn, err := net.Dial("tcp", s.api)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Expect: 100-continue makes the server answer once the handler reads
	// the body, so the request is surely in flight.
	req := "PUT /v1/zones/lb.test/rrsets HTTP/1.1\r\nHost: " + s.api + "\r\nContent-Type: application/json\r\n" +
		"Content-Length: 1000\r\nExpect: 100-continue\r\n\r\n"
	if _, err := conn.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if line, err := bufio.NewReader(conn).ReadString('\n'); err != nil || !strings.Contains(line, "100 Continue") {
		t.Fatalf("before the body: %q, %v", line, err)
	}
	if _, err := conn.Write([]byte(`{"name": "www", `)); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	s.stop(t) // fails unless the exit code is 0
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("shutdown took %v with --shutdown 500ms", took)
	}
	if log := s.stderr.String(); !strings.Contains(log, "requests=1") {
		t.Errorf("the log does not say one request was cut:\n%s", log)
	}
}
