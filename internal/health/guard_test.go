package health

import (
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/dnslb/dnslb/internal/record"
)

var loopback = record.CheckRules{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}

// serverProbe builds the server-side prober of c under rules, with own as
// the set's addresses, and runs it once.
func serverProbe(t *testing.T, c record.Check, rules record.CheckRules, own ...string) error {
	t.Helper()
	for _, a := range own {
		c.Addrs = append(c.Addrs, netip.MustParseAddr(a))
	}
	p, err := NewServerProber(c, rules)
	if err != nil {
		t.Fatalf("NewServerProber: %v", err)
	}
	return p(t.Context(), nil)
}

// TestGuardControl: the dial-time rule on the address actually dialed.
func TestGuardControl(t *testing.T) {
	g := guard{own: []netip.Addr{netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("2001:db8::1")}}
	tests := []struct {
		addr string
		ok   bool
	}{
		{"10.0.0.1:80", true},
		{"[2001:db8::1]:443", true},
		{"[::ffff:10.0.0.1]:80", true},
		{"10.0.0.2:80", false},
		{"127.0.0.1:80", false}, // loopback is never the set's own
		{"169.254.169.254:80", false},
		{"[fd00:ec2::254]:80", false},
		{"0.0.0.0:80", false},
		{"[fe80::1%eth0]:80", false},
		{"metadata.internal:80", false},
	}
	for _, tt := range tests {
		err := g.control("tcp4", tt.addr, nil)
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrNotAllowed)) {
			t.Errorf("control(%s) = %v, want allowed %v", tt.addr, err, tt.ok)
		}
	}
	g.rules = loopback
	if err := g.control("tcp4", "127.0.0.9:80", nil); err != nil {
		t.Errorf("allow-listed loopback: %v", err)
	}
	g.rules.Allow = append(g.rules.Allow, netip.MustParsePrefix("0.0.0.0/0"))
	if err := g.control("tcp4", "0.0.0.0:80", nil); err == nil {
		t.Error("0.0.0.0 (the server itself) allowed by 0.0.0.0/0")
	}
}

// TestServerProberRefusesAtConnect: without an allowance a loopback
// backend is not connected to, over HTTP or TCP, even by a check that
// names it.
func TestServerProberRefusesAtConnect(t *testing.T) {
	b := newBackend(t, "127.0.0.4:0", false)
	hit := make(chan struct{}, 1)
	b.set(func(http.ResponseWriter, *http.Request) { hit <- struct{}{} })
	addr := b.srv.Listener.Addr().String()
	for _, target := range []string{b.srv.URL + "/health", "tcp://" + addr} {
		err := serverProbe(t, normalized(t, target, nil), record.CheckRules{}, "127.0.0.4")
		want := target + ": dial tcp " + addr + ": 127.0.0.4: " + ErrNotAllowed.Error()
		if errText(err) != want || !errors.Is(err, ErrNotAllowed) {
			t.Errorf("probe error = %q, want %q", errText(err), want)
		}
		if err := serverProbe(t, normalized(t, target, nil), loopback); err != nil {
			t.Errorf("allow-listed: %v", err)
		}
	}
	if len(hit) != 1 {
		t.Errorf("backend answered %d requests, want 1 (the allowed one)", len(hit))
	}
}

// TestServerProberOwnAddresses: a target without host probes each of the
// set's addresses; all must pass.
func TestServerProberOwnAddresses(t *testing.T) {
	ln1, err := net.Listen("tcp", "127.0.0.5:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln1.Close()
	_, port, _ := net.SplitHostPort(ln1.Addr().String())
	c := normalized(t, "tcp://:"+port, nil)
	if err := serverProbe(t, c, loopback, "127.0.0.5"); err != nil {
		t.Errorf("one address, listening: %v", err)
	}
	err = serverProbe(t, c, loopback, "127.0.0.5", "127.0.0.6")
	want := "tcp://:" + port + ": 127.0.0.6: dial tcp 127.0.0.6:" + port + ": connect: connection refused"
	if errText(err) != want {
		t.Errorf("one of two down: %q, want %q", errText(err), want)
	}
	if err := serverProbe(t, c, loopback); errText(err) != "tcp://:"+port+": the set has no A or AAAA values to probe" {
		t.Errorf("no addresses: %v", err)
	}
}

// TestServerProberRedirects: a redirect is never followed; one to an
// address the check may not reach fails the probe, one within passes.
func TestServerProberRedirects(t *testing.T) {
	b := newBackend(t, "127.0.0.7:0", false)
	target := b.srv.URL + "/health"
	tests := []struct {
		location string
		wantErr  string
	}{
		{"/elsewhere", ""},
		{"http://127.0.0.8:8080/", ""},
		{"http://169.254.169.254/latest/meta-data/", "status 302: redirect to http://169.254.169.254/latest/meta-data/: 169.254.169.254: " + ErrNotAllowed.Error()},
		{"https://example.com/", "status 302: redirect to https://example.com/: example.com: " + ErrNotAllowed.Error()},
	}
	for _, tt := range tests {
		b.set(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/health" {
				t.Errorf("redirect followed to %s", r.URL.Path)
			}
			http.Redirect(w, r, tt.location, http.StatusFound)
		})
		err := serverProbe(t, normalized(t, target, nil), loopback)
		want := ""
		if tt.wantErr != "" {
			want = target + ": " + tt.wantErr
		}
		if errText(err) != want {
			t.Errorf("redirect to %s: %q, want %q", tt.location, errText(err), want)
		}
	}
}

func TestNewServerProberErrors(t *testing.T) {
	c := normalized(t, "exec:/bin/true", nil)
	_, err := NewServerProber(c, loopback)
	if want := `health: check "exec:/bin/true" is not a server-side check target; allowed http://, https://, tcp://`; errText(err) != want {
		t.Errorf("exec: %q, want %q", errText(err), want)
	}
	if !strings.Contains(errText(func() error { _, err := NewServerProber(record.Check{Target: "tcp://:1"}, loopback); return err }()), "normalize the check first") {
		t.Error("an unnormalized check is accepted")
	}
}
