package registry

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/dnslb/dnslb/internal/health"
	"github.com/dnslb/dnslb/internal/record"
)

// shortCheck is a check of target every 100ms, down at the first failure.
func shortCheck(target string) *record.Check {
	return &record.Check{Target: target, Interval: record.Duration(100 * time.Millisecond),
		Timeout: record.Duration(50 * time.Millisecond), Rise: 1, Fall: 1}
}

// samePortBackends starts backends on ip1 and ip2 on one port: the port
// the kernel gives ip1, when ip2 has it free too (tried a few times).
func samePortBackends(t *testing.T, ip1, ip2 string) (*backend, *backend) {
	t.Helper()
	for range 20 {
		ln1, err := net.Listen("tcp", ip1+":0")
		if err != nil {
			t.Fatal(err)
		}
		_, port, _ := net.SplitHostPort(ln1.Addr().String())
		ln2, err := net.Listen("tcp", net.JoinHostPort(ip2, port))
		if err != nil {
			ln1.Close()
			continue
		}
		return serveBackend(t, ln1), serveBackend(t, ln2)
	}
	t.Fatalf("no port free on both %s and %s", ip1, ip2)
	return nil, nil
}

// serveBackend serves a backend (as newBackend's) on ln.
func serveBackend(t testing.TB, ln net.Listener) *backend {
	b := &backend{}
	b.healthy.Store(true)
	b.srv = &httptest.Server{Listener: ln, Config: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if !b.healthy.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})}}
	b.srv.Start()
	t.Cleanup(b.srv.Close)
	return b
}

// TestOwnAddressCheckFollowsValues: http://:PORT/PATH probes the set's
// values; when they change, the checker restarts on the new ones.
func TestOwnAddressCheckFollowsValues(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.Now, o.Checks = time.Now, allowLoopback })
	good, bad := samePortBackends(t, "127.0.0.26", "127.0.0.27")
	bad.healthy.Store(false)
	_, port, _ := net.SplitHostPort(good.srv.Listener.Addr().String())
	s := wset("a", 10, "127.0.0.26")
	s.Check = shortCheck("http://:" + port + "/health")
	h.put(s)
	h.waitStatus("a", func(s record.Status) bool { return s.Health == "up" && s.HealthSince != nil })
	s.Values = []string{"127.0.0.26", "127.0.0.27"}
	h.put(s)
	st := h.waitStatus("a", func(s record.Status) bool { return s.Health == "down" })
	if want := "http://:" + port + "/health: 127.0.0.27: status 503"; st.HealthError != want {
		t.Errorf("health error %q, want %q", st.HealthError, want)
	}
}

// TestCheckRefusedWhenAllowListNarrows: a check stored while the
// operator allowed its target is refused at connect time once the server
// runs without that allowance; the set goes down saying why.
func TestCheckRefusedWhenAllowListNarrows(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.Now, o.Checks = time.Now, allowLoopback })
	b := newBackend(t, "127.0.0.28")
	s := wset("a", 10, "127.0.0.29")
	s.Check = shortCheck(b.srv.URL + "/health")
	h.put(s)
	h.waitStatus("a", func(s record.Status) bool { return s.Health == "up" && s.HealthSince != nil })
	h.stop()
	h.start(Options{Now: time.Now, Manual: true})
	st := h.waitStatus("a", func(s record.Status) bool { return s.Health == "down" })
	if want := "dial tcp " + b.srv.Listener.Addr().String() + ": 127.0.0.28: " + health.ErrNotAllowed.Error(); !strings.HasSuffix(st.HealthError, want) {
		t.Errorf("health error %q, want it to end in %q", st.HealthError, want)
	}
}
