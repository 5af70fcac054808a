package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
)

// testIMDS is an IMDSv2 metadata service: a token is required; paths
// answer from meta, or with a status from fail; hang makes the token PUT
// wait without answering (the answer lost to the hop limit).
type testIMDS struct {
	srv  *httptest.Server
	mu   sync.Mutex
	meta map[string]string
	fail map[string]int
	hits map[string]int // requests by path
	hang bool
}

func newTestIMDS(t *testing.T, meta map[string]string) *testIMDS {
	t.Helper()
	m := &testIMDS{meta: meta, fail: map[string]int{}, hits: map[string]int{}}
	m.srv = httptest.NewServer(http.HandlerFunc(m.serve))
	t.Cleanup(m.srv.Close)
	return m
}

func (m *testIMDS) serve(w http.ResponseWriter, r *http.Request) {
	m.mu.Lock()
	hang := m.hang
	path := strings.TrimPrefix(r.URL.Path, "/latest/meta-data/")
	v, ok := m.meta[path]
	code := m.fail[path]
	m.hits[path]++
	m.mu.Unlock()
	switch {
	case r.Method == http.MethodPut && hang:
		<-r.Context().Done()
	case r.Method == http.MethodPut:
		w.Header().Set("X-Aws-Ec2-Metadata-Token-Ttl-Seconds", "21600")
		fmt.Fprint(w, "tok")
	case r.Header.Get("X-Aws-Ec2-Metadata-Token") != "tok":
		http.Error(w, "token required", http.StatusUnauthorized)
	case code != 0:
		http.Error(w, "failing", code)
	case ok:
		fmt.Fprint(w, v)
	default:
		http.NotFound(w, r)
	}
}

func (m *testIMDS) set(f func(m *testIMDS)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f(m)
}

// client is an IMDSv2-only client of m with one attempt per call, as the
// agent's identity client.
func (m *testIMDS) client() *imds.Client {
	return imdsClient(m.srv.URL)
}

func imdsClient(endpoint string) *imds.Client {
	return imds.New(imds.Options{Endpoint: endpoint, EnableFallback: aws.FalseTernary,
		Retryer: retry.AddWithMaxAttempts(retry.NewStandard(), 1)})
}

// TestEC2Identity: the address comes from --address-from (default: public
// IPv4, else private, else IPv6, for AAAA on an IPv6-only instance);
// --address and --set-id win over what IMDS says; an address the instance
// does not have is a permanent error that says so.
func TestEC2Identity(t *testing.T) {
	dual := map[string]string{"instance-id": "i-1", "public-ipv4": "203.0.113.7", "local-ipv4": "10.0.0.7",
		"mac": "0e:00:00:00:00:01", "network/interfaces/macs/0e:00:00:00:00:01/ipv6s": "2001:db8::7\n2001:db8::8"}
	private := map[string]string{"instance-id": "i-2", "local-ipv4": "10.0.0.8", "mac": "0e:00:00:00:00:02"}
	v6only := map[string]string{"instance-id": "i-3", "mac": "0e:00:00:00:00:03",
		"network/interfaces/macs/0e:00:00:00:00:03/ipv6s": "2001:db8::9"}
	for _, tc := range []struct {
		name      string
		meta      map[string]string
		e         EC2
		id, addr  string
		err       string
		permanent bool
	}{
		{"default is public", dual, EC2{}, "i-1", "203.0.113.7", "", false},
		{"default without public", private, EC2{}, "i-2", "10.0.0.8", "", false},
		{"default on IPv6 only", v6only, EC2{}, "i-3", "2001:db8::9", "", false},
		{"private", dual, EC2{From: AddressPrivate}, "i-1", "10.0.0.7", "", false},
		{"ipv6", dual, EC2{From: AddressIPv6}, "i-1", "2001:db8::7", "", false},
		{"explicit address and set id", dual, EC2{SetID: "web-1", Address: "192.0.2.1"}, "web-1", "192.0.2.1", "", false},
		{"public missing", private, EC2{From: AddressPublic}, "", "",
			"imds: this instance has no public address (--address-from public)", true},
		{"no address at all", map[string]string{"instance-id": "i-4", "mac": "0e:00:00:00:00:04"}, EC2{}, "", "",
			"imds: this instance has no public or private or ipv6 address (--address-from public|private|ipv6)", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newTestIMDS(t, tc.meta)
			tc.e.Client = m.client()
			id, err := tc.e.Identity(context.Background())
			if tc.err != "" {
				if err == nil || err.Error() != tc.err || transient(err) != !tc.permanent {
					t.Fatalf("err = %v (transient %v), want %q (permanent)", err, err != nil && transient(err), tc.err)
				}
				return
			}
			if err != nil || id.SetID != tc.id || id.Address.String() != tc.addr {
				t.Fatalf("identity = %s %s, %v; want %s %s", id.SetID, id.Address, err, tc.id, tc.addr)
			}
		})
	}
}

// TestTokenUnansweredSaysHopLimit: an IMDSv2 token request that reaches
// IMDS and gets no answer (a container behind the PUT response hop limit)
// says to raise the hop limit; an address where nothing listens says "not
// on EC2".
func TestTokenUnansweredSaysHopLimit(t *testing.T) {
	m := newTestIMDS(t, map[string]string{"instance-id": "i-1"})
	m.set(func(m *testIMDS) { m.hang = true })
	_, err := EC2{Client: m.client(), Endpoint: m.srv.URL}.Identity(context.Background())
	if !errors.Is(err, ErrTokenUnanswered) || !strings.Contains(err.Error(), "raise the hop limit (HttpPutResponseHopLimit") {
		t.Errorf("token PUT unanswered: %v", err)
	}
	n := &Notices{Client: m.client(), Interval: time.Hour, Logger: slog.New(slog.DiscardHandler)}
	if _, err := n.Pending(context.Background()); !errors.Is(err, ErrTokenUnanswered) {
		t.Errorf("notices with the token PUT unanswered: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close() // connections refused from now on
	_, err = EC2{Client: imdsClient(closed), Endpoint: closed}.Identity(context.Background())
	if err == nil || errors.Is(err, ErrTokenUnanswered) || !strings.HasPrefix(err.Error(), "not on EC2 or IMDS unreachable at "+closed) {
		t.Errorf("IMDS refusing connections: %v", err)
	}
}

// TestNoticeFailuresShow: notice polls that fail log one warning when they
// start failing and one line when they recover, at the default level; the
// failures in between stay at debug level.
func TestNoticeFailuresShow(t *testing.T) {
	m := newTestIMDS(t, map[string]string{"autoscaling/target-lifecycle-state": "InService"})
	m.set(func(m *testIMDS) { m.fail["spot/instance-action"] = http.StatusInternalServerError })
	l := newLogs()
	n := &Notices{Client: m.client(), Interval: 10 * time.Millisecond, Logger: l.logger()}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan string, 1)
	go func() { done <- n.Watch(ctx) }()
	defer func() { cancel(); <-done }()
	const lost = "cannot read termination notices from IMDS; a spot interruption or auto scaling termination would go unseen; retrying"
	eventuallyTrue(t, "three failed polls", func() bool {
		m.mu.Lock()
		defer m.mu.Unlock()
		return m.hits["spot/instance-action"] >= 4
	})
	m.set(func(m *testIMDS) { delete(m.fail, "spot/instance-action") })
	l.wait(t, 5*time.Second, "recovery", func() bool { return l.count(slog.LevelInfo, "termination notices readable again") == 1 })
	if n := l.count(slog.LevelWarn, lost); n != 1 {
		t.Errorf("%d warnings, want 1; log:\n%s", n, l)
	}
	m.set(func(m *testIMDS) { m.meta["spot/instance-action"] = `{"action":"terminate"}` })
	select {
	case reason := <-done:
		done <- reason
		if reason != `spot interruption notice: {"action":"terminate"}` {
			t.Errorf("reason %q", reason)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no notice")
	}
}

// eventuallyTrue waits up to 5s for cond, polling.
func eventuallyTrue(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
