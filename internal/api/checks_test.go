package api_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/dnslb/dnslb/internal/api/client"
	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/registry"
)

// allowLoopback is serve --check-allow 127.0.0.0/8.
func allowLoopback(o *registry.Options) {
	o.Checks.Allow = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
}

// checked is a weighted A set of values probed by target every 100ms,
// down at the first failure.
func checked(id, target, match string, values ...string) client.SetRequest {
	req := client.SetRequest{Name: "www", Type: "A", SetID: id, Weight: ptr(10), TTL: ptr[int64](60), Values: values}
	req.Check = &record.Check{Target: target, Interval: record.Duration(100 * time.Millisecond), Fall: 1, Rise: 1, Match: match}
	return req
}

// unprobed gives req's check the longest interval: the first probe comes
// at a random time within an hour. Checks that must be refused use it, so
// that a server that accepted one (a regression, or the base commit) would
// most likely delete it before probing an address outside loopback.
func unprobed(req client.SetRequest) client.SetRequest {
	req.Check.Interval = record.Duration(record.MaxCheckInterval)
	return req
}

// startBackend serves handler on ip (a loopback address), port chosen by
// the kernel.
func startBackend(t *testing.T, ip string, handler http.HandlerFunc) *httptest.Server {
	t.Helper()
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: handler}}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

// waitSet polls the listing, as cl, until set id satisfies ok.
func waitSet(t *testing.T, cl *client.Client, id string, ok func(client.SetView) bool) client.SetView {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		sets, err := cl.Sets(context.Background(), "lb.test", "www", "A", id)
		if err == nil && len(sets) == 1 && ok(sets[0]) {
			return sets[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("set %s never reached the wanted state: %+v %v", id, sets, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// wantTargetErr checks err is a 400 invalid_argument about check.target
// with message msg.
func wantTargetErr(t *testing.T, what string, err error, msg string) {
	t.Helper()
	wantErr(t, what, err, 400, "invalid_argument", msg)
	if ce, ok := err.(*client.Error); ok && ce.Field != "check.target" {
		t.Errorf("%s: field %q, want check.target", what, ce.Field)
	}
}

// TestCheckTargetsRestricted: a server-side check probes the set's own
// addresses unless the operator allowed more; the metadata service and
// the server's loopback are not the set's to probe even as its values.
func TestCheckTargetsRestricted(t *testing.T) {
	e := newAuthEnv(t, nil)
	ctx := context.Background()
	const allowed = "allowed: the set's own addresses (http://:PORT/PATH or tcp://:PORT probes each of them), " +
		"except loopback, link-local and multicast ones, and addresses an operator allows with serve --check-allow CIDR,..."
	for _, tc := range []struct {
		name, target, value, msg string
	}{
		{"metadata service", "http://169.254.169.254/latest/meta-data/", "10.0.0.1",
			"169.254.169.254 is not an address this set may probe; " + allowed},
		{"another loopback address", "tcp://127.0.0.5:22", "10.0.0.1",
			"127.0.0.5 is not an address this set may probe; " + allowed},
		{"own loopback value", "http://:8080/health", "127.0.0.1",
			`"http://:8080/health" would probe 127.0.0.1, which is not an address this set may probe; ` + allowed},
		{"own metadata value", "http://169.254.169.254/", "169.254.169.254",
			"169.254.169.254 is not an address this set may probe; " + allowed},
		{"host name", "http://metadata.google.internal/", "10.0.0.1",
			`"http://metadata.google.internal/" names a host; a server-side check probes an IP address, as a name could be re-pointed by DNS; ` + allowed},
		{"unspecified", "tcp://0.0.0.0:22", "10.0.0.1",
			"0.0.0.0 is not an address this set may probe; " + allowed},
	} {
		_, err := e.as("ops").PutSet(ctx, "lb.test", unprobed(checked("a", tc.target, "", tc.value)))
		wantTargetErr(t, tc.name, err, tc.msg)
		if err == nil { // a server without the rule would probe it: stop that at once
			_, _ = e.as("ops").DeleteSet(ctx, "lb.test", "www", "A", "a")
		}
	}
	_, err := e.as("ops").PutSet(ctx, "lb.test", client.SetRequest{Name: "mail", Type: "CNAME", Values: []string{"www"},
		Check: &record.Check{Target: "tcp://:25"}})
	wantTargetErr(t, "own addresses of a CNAME", err,
		`"tcp://:25" probes the set's own addresses, and a CNAME set has none; give an IP address an operator allows with serve --check-allow CIDR,...`)
	// Accepted targets of non-loopback addresses are in the record tests
	// (TestNormalizeForCheckTargets): here they would be probed.
	if sets, err := e.as("ops").Sets(ctx, "lb.test", "", "", ""); err != nil || len(sets) != 0 {
		t.Errorf("refused writes stored nothing: %+v %v", sets, err)
	}
}

// TestCheckAllowList: with serve --check-allow 127.0.0.0/8, loopback
// targets are accepted and probed, the shorthand probes every value of the
// set.
func TestCheckAllowList(t *testing.T) {
	e := newAuthEnvWith(t, allowLoopback, nil)
	ctx := context.Background()
	ops := e.as("ops")
	if _, err := ops.PutSet(ctx, "lb.test", unprobed(checked("meta", "http://169.254.169.254/", "", "10.0.0.1"))); err == nil {
		_, _ = ops.DeleteSet(ctx, "lb.test", "www", "A", "meta")
		t.Error("a check of 169.254.169.254 outside the allow-list was accepted")
	}
	healthy := true
	var mu = make(chan struct{}, 1)
	mu <- struct{}{}
	srv := startBackend(t, "127.0.0.31", func(w http.ResponseWriter, r *http.Request) {
		<-mu
		ok := healthy
		mu <- struct{}{}
		if !ok {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	if _, err := ops.PutSet(ctx, "lb.test", checked("own", "http://:"+port+"/health", "", "127.0.0.31")); err != nil {
		t.Fatalf("shorthand check with the allow-list: %v", err)
	}
	<-mu
	healthy = false
	mu <- struct{}{}
	v := waitSet(t, ops, "own", func(v client.SetView) bool { return v.Status.Health == "down" })
	if want := "http://:" + port + "/health: 127.0.0.31: status 503"; v.Status.HealthError != want {
		t.Errorf("health error %q, want %q", v.Status.HealthError, want)
	}
	<-mu
	healthy = true
	mu <- struct{}{}
	waitSet(t, ops, "own", func(v client.SetView) bool { return v.Status.Health == "up" })
}

// TestCheckRedirectElsewhere: a backend the operator allowed redirects its
// check to the metadata service; the redirect is not followed and the
// check fails, saying why.
func TestCheckRedirectElsewhere(t *testing.T) {
	e := newAuthEnvWith(t, allowLoopback, nil)
	ops := e.as("ops")
	redirect := startBackend(t, "127.0.0.32", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusFound)
	})
	target := redirect.URL + "/health"
	if _, err := ops.PutSet(context.Background(), "lb.test", checked("redir", target, "", "10.0.0.9")); err != nil {
		t.Fatalf("check of an allowed address: %v", err)
	}
	v := waitSet(t, ops, "redir", func(v client.SetView) bool { return v.Status.Health == "down" })
	want := target + ": status 302: redirect to http://169.254.169.254/latest/meta-data/: 169.254.169.254: " +
		"not an address this check may reach (the set's own addresses, or serve --check-allow)"
	if v.Status.HealthError != want {
		t.Errorf("health error %q, want %q", v.Status.HealthError, want)
	}
}

// TestHealthDetailsAdminOnly: a failing check's error text and its match
// string are shown to admin tokens only; read tokens see up/down and since
// when, so the health column is no page-reading oracle beyond up or down.
func TestHealthDetailsAdminOnly(t *testing.T) {
	e := newAuthEnvWith(t, allowLoopback, nil)
	ctx := context.Background()
	srv := startBackend(t, "127.0.0.33", func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("secret=hunter2"))
	})
	if _, err := e.as("ops").PutSet(ctx, "lb.test", checked("a", srv.URL+"/", "secret=a", "127.0.0.33")); err != nil {
		t.Fatal(err)
	}
	admin := waitSet(t, e.as("ops"), "a", func(v client.SetView) bool { return v.Status.Health == "down" })
	if !strings.Contains(admin.Status.HealthError, `body does not contain "secret=a"`) || admin.Check.Match != "secret=a" {
		t.Errorf("admin sees the details: %q %+v", admin.Status.HealthError, admin.Check)
	}
	ro := waitSet(t, e.as("ro"), "a", func(client.SetView) bool { return true })
	if ro.Status.Health != "down" || ro.Status.HealthSince == nil {
		t.Errorf("read token sees health and since: %+v", ro.Status)
	}
	if ro.Status.HealthError != "" || ro.Check == nil || ro.Check.Match != "" || ro.Check.Target != srv.URL+"/" {
		t.Errorf("read token sees the error %q and check %+v; want no error, no match, the target", ro.Status.HealthError, ro.Check)
	}
}
