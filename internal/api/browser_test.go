package api_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// rawRequest sends req exactly as written (a browser's request, not Go's)
// to addr and returns the status and body of the answer.
func rawRequest(t *testing.T, addr, req string) (int, string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%q: %v", req, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// browser builds a request as a browser page sends it: a form post is
// text/plain (no CORS preflight), and it carries the page's Origin.
func browser(method, host, path, origin, ctype, body string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: Mozilla/5.0\r\nConnection: close\r\n", method, path, host)
	if origin != "" {
		fmt.Fprintf(&b, "Origin: %s\r\n", origin)
	}
	if body != "" || method == http.MethodPost || method == http.MethodPut {
		fmt.Fprintf(&b, "Content-Type: %s\r\nContent-Length: %d\r\n", ctype, len(body))
	}
	b.WriteString("\r\n" + body)
	return b.String()
}

// TestBrowserAttacksRefused: a page on another site (CSRF) or a name that
// resolves to 127.0.0.1 (DNS rebinding) cannot write, nor read, even on
// loopback; the CLI's own requests still work.
func TestBrowserAttacksRefused(t *testing.T) {
	e := newEnv(t)
	addr := e.srv.Listener.Addr().String()
	_, port, _ := net.SplitHostPort(addr)
	zone := `{"name":"evil.test"}`
	for _, c := range []struct {
		name, req string
		status    int
		code      string
	}{
		{"text/plain form post", browser("POST", addr, "/v1/zones", "http://"+addr, "text/plain", zone), 415, "unsupported_media_type"},
		{"cross-site form post", browser("POST", addr, "/v1/zones", "http://evil.example", "text/plain", zone), 403, "forbidden_origin"},
		{"form post without origin", browser("POST", addr, "/v1/zones", "", "application/x-www-form-urlencoded", zone), 415, "unsupported_media_type"},
		{"cross-site json", browser("POST", addr, "/v1/zones", "http://evil.example", "application/json", zone), 403, "forbidden_origin"},
		{"cross-site delete", browser("DELETE", addr, "/v1/zones/lb.test/rrsets/www/A?set_id=a", "http://evil.example", "", ""), 403, "forbidden_origin"},
		{"null origin", browser("POST", addr, "/v1/zones", "null", "application/json", zone), 403, "forbidden_origin"},
		{"rebinding write", browser("POST", "evil.example:"+port, "/v1/zones", "http://evil.example:"+port, "application/json", zone), 421, "misdirected_host"},
		{"rebinding read", browser("GET", "evil.example:5380", "/v1/zones", "", "", ""), 421, "misdirected_host"},
		{"rebinding same origin", browser("GET", "evil.example:5380", "/v1/zones", "http://evil.example:5380", "", ""), 421, "misdirected_host"},
	} {
		status, body := rawRequest(t, addr, c.req)
		if status != c.status || !strings.Contains(body, `"code": "`+c.code+`"`) {
			t.Errorf("%s: got %d %s, want %d %s", c.name, status, body, c.status, c.code)
		}
	}
	if zones, err := e.cl.Zones(context.Background()); err != nil || len(zones) != 1 {
		t.Fatalf("zones after the attacks: %v %v, want lb.test alone", zones, err)
	}
	for _, c := range []struct{ name, req string }{
		{"cli by address", browser("GET", addr, "/v1/zones", "", "", "")},
		{"localhost any port", browser("GET", "localhost:9", "/v1/zones", "", "", "")},
		{"ipv6 loopback", browser("GET", "[::1]:5380", "/v1/zones", "", "", "")},
		{"same origin page", browser("POST", addr, "/v1/zones", "http://"+addr, "application/json; charset=utf-8", `{"name":"ok.test"}`)},
		{"drain without body", browser("POST", addr, "/v1/zones/lb.test/rrsets/www/A/drain?set_id=a", "", "", "")},
	} {
		if status, body := rawRequest(t, addr, c.req); status >= 300 {
			t.Errorf("%s: got %d %s", c.name, status, body)
		}
	}
}
