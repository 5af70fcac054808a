package health

import (
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dnslb/dnslb/internal/record"
)

func TestHTTPProber(t *testing.T) {
	b := newBackend(t, "127.0.0.2:0", false)
	target := b.srv.URL + "/health"
	const match = "ready"
	redirect := func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/health" {
			t.Errorf("redirect followed to %s", r.URL.Path)
		}
		http.Redirect(w, r, "/down", http.StatusFound)
	}
	withMatch := func(c *record.Check) { c.Match = match }
	tests := []struct {
		name    string
		handler http.HandlerFunc
		edit    func(*record.Check)
		wantErr string // after "TARGET: "; "" passes
	}{
		{name: "200", handler: status(200)},
		{name: "204", handler: status(204)},
		{name: "302 not followed", handler: redirect},
		{name: "304", handler: status(304)},
		{name: "500", handler: status(500), wantErr: "status 500"},
		{name: "404", handler: status(404), wantErr: "status 404"},
		{name: "503", handler: status(503), wantErr: "status 503"},
		{name: "slow", handler: b.slow, edit: timeout(200 * time.Millisecond), wantErr: "probe timed out after 200ms"},
		{name: "match", handler: body("all ready now"), edit: withMatch},
		{name: "no match", handler: body("starting"), edit: withMatch,
			wantErr: `body does not contain "ready" in its first 5120 bytes`},
		{name: "match ends at byte 5120", handler: body(strings.Repeat("x", 5120-len(match)) + match), edit: withMatch},
		{name: "match crosses byte 5120", handler: body(strings.Repeat("x", 5120-2) + match), edit: withMatch,
			wantErr: `body does not contain "ready" in its first 5120 bytes`},
		{name: "match after byte 5120", handler: body(strings.Repeat("x", 5120) + match), edit: withMatch,
			wantErr: `body does not contain "ready" in its first 5120 bytes`},
		{name: "match in a 500", handler: func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(500)
			_, _ = w.Write([]byte(match))
		}, edit: withMatch, wantErr: "status 500"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b.set(tt.handler)
			start := time.Now()
			err := probe(t, normalized(t, target, tt.edit))
			want := ""
			if tt.wantErr != "" {
				want = target + ": " + tt.wantErr
			}
			if got := errText(err); got != want {
				t.Errorf("probe error = %q, want %q", got, want)
			}
			if elapsed := time.Since(start); elapsed > 5*time.Second {
				t.Errorf("probe took %s", elapsed)
			}
		})
	}
}

func TestHTTPProberTimeoutIsErrTimeout(t *testing.T) {
	b := newBackend(t, "127.0.0.2:0", false)
	b.set(b.slow)
	err := probe(t, normalized(t, b.srv.URL, timeout(100*time.Millisecond)))
	if !errors.Is(err, ErrTimeout) {
		t.Errorf("probe error = %v, want ErrTimeout", err)
	}
}

func TestHTTPProberRequest(t *testing.T) {
	b := newBackend(t, "127.0.0.2:0", false)
	got := make(chan *http.Request, 1)
	b.set(func(w http.ResponseWriter, r *http.Request) { got <- r })
	if err := probe(t, normalized(t, b.srv.URL+"/health?full=1", nil)); err != nil {
		t.Fatal(err)
	}
	r := <-got
	if r.Method != http.MethodGet || r.URL.String() != "/health?full=1" || r.UserAgent() != "dnslb-health/1" {
		t.Errorf("request = %s %s, User-Agent %q; want GET /health?full=1, dnslb-health/1", r.Method, r.URL, r.UserAgent())
	}
}

func TestHTTPSProberVerifyTLS(t *testing.T) {
	b := newBackend(t, "127.0.0.1:0", true)
	tests := []struct {
		verify  bool
		wantErr string // contained in the error; "" passes
	}{
		{verify: false},
		{verify: true, wantErr: "x509: certificate signed by unknown authority"},
	}
	for _, tt := range tests {
		err := probe(t, normalized(t, b.srv.URL, func(c *record.Check) { c.VerifyTLS = tt.verify }))
		if got := errText(err); !strings.Contains(got, tt.wantErr) || (tt.wantErr == "") != (err == nil) {
			t.Errorf("VerifyTLS %v: probe error = %q, want %q", tt.verify, got, tt.wantErr)
		}
	}
}

func TestHTTPProberRefused(t *testing.T) {
	b := newBackend(t, "127.0.0.2:0", false)
	b.srv.Close()
	err := probe(t, normalized(t, b.srv.URL, nil))
	if got := errText(err); !strings.HasPrefix(got, b.srv.URL+": dial tcp ") || !strings.Contains(got, "connection refused") {
		t.Errorf("probe error = %q, want %s: dial tcp …: connection refused", got, b.srv.URL)
	}
}

func TestTCPProber(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.3:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	c := normalized(t, "tcp://"+addr, nil)
	if err := probe(t, c); err != nil {
		t.Errorf("listening: probe error = %v, want nil", err)
	}
	ln.Close()
	want := "tcp://" + addr + ": dial tcp " + addr + ": connect: connection refused"
	if got := errText(probe(t, c)); got != want {
		t.Errorf("closed: probe error = %q, want %q", got, want)
	}
}

func TestNewProberErrors(t *testing.T) {
	tests := []struct {
		check record.Check
		want  string
	}{
		{record.Check{Target: "http://127.0.0.1/"},
			`health: check "http://127.0.0.1/": timeout 0s is not positive; normalize the check first`},
		{record.Check{Target: "ftp://127.0.0.1/", Timeout: record.Duration(time.Second)},
			`health: check "ftp://127.0.0.1/": scheme "ftp" is not supported; allowed http, https, tcp, exec:`},
		{record.Check{Target: "127.0.0.1:80", Timeout: record.Duration(time.Second)},
			`health: check "127.0.0.1:80" is not a check target; allowed http://, https://, tcp://, exec:`},
	}
	for _, tt := range tests {
		if _, err := NewProber(tt.check); errText(err) != tt.want {
			t.Errorf("NewProber(%q) error = %q, want %q", tt.check.Target, errText(err), tt.want)
		}
	}
}
