package cli_test

import (
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestCheckTargetsE2E: through serve and the CLI, a check aimed at the
// metadata service is refused naming --check, and with serve
// --check-allow 127.0.0.0/8 (the tests' servers have it) a check of the
// set's own loopback address, written without host, probes it.
func TestCheckTargetsE2E(t *testing.T) {
	s := startServer(t, "127.0.0.66", t.TempDir(), "--zone", "lb.test")
	const want = "dnslb: --check: 169.254.169.254 is not an address this set may probe; allowed: the set's own addresses " +
		"(http://:PORT/PATH or tcp://:PORT probes each of them), except loopback, link-local and multicast ones, " +
		"and addresses an operator allows with serve --check-allow CIDR,... (invalid_argument)\n"
	// An hour's interval: a server that accepted it would most likely
	// delete it (below) before its first probe, at a random time within it.
	_, errOut, code := s.try("record", "set", "lb.test", "x", "A", "--value", "10.0.0.1",
		"--check", "http://169.254.169.254/latest/meta-data/", "--check-interval", "1h")
	if code == 0 {
		s.try("record", "rm", "lb.test", "x", "A")
	}
	if code != 1 || errOut != want {
		t.Errorf("check of the metadata service: exit %d, stderr %q; want %q", code, errOut, want)
	}
	ln, err := net.Listen("tcp", "127.0.0.67:0")
	if err != nil {
		t.Fatal(err)
	}
	backend := &httptest.Server{Listener: ln, Config: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	})}}
	backend.Start()
	defer backend.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	s.run(t, "record", "set", "lb.test", "own", "A", "--value", "127.0.0.67", "--check", "http://:"+port+"/health",
		"--check-interval", "100ms", "--fall", "1")
	want503 := "http://:" + port + "/health: 127.0.0.67: status 503"
	eventually(t, 10*time.Second, "the own-address check to fail", func() bool {
		return s.views(t)[""].Status.HealthError == want503
	})
	s.stop(t)
}
