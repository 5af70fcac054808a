package agent_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/miekg/dns"

	"github.com/dnslb/dnslb/internal/agent"
	"github.com/dnslb/dnslb/internal/dnsserver"
	"github.com/dnslb/dnslb/internal/route53api"
	"github.com/dnslb/dnslb/internal/route53api/r53test"
)

// throttler makes the first calls of each operation fail with Route 53's
// throttling errors, and counts what it did.
type throttler struct {
	mu    sync.Mutex
	armed bool
	left  map[string]int // failures still to inject, by operation
	calls map[string]int
	hit   map[string]int
}

func newThrottler(left map[string]int) *throttler {
	return &throttler{left: left, calls: map[string]int{}, hit: map[string]int{}}
}

func (th *throttler) inject(op string) error {
	th.mu.Lock()
	defer th.mu.Unlock()
	th.calls[op]++
	if !th.armed || th.left[op] == 0 {
		return nil
	}
	th.left[op]--
	th.hit[op]++
	if op == "ChangeResourceRecordSets" && th.hit[op]%2 == 0 {
		return route53api.PriorRequestNotComplete()
	}
	return route53api.Throttling()
}

// r53Env is dnslb's Route 53 API with a hosted zone lb.test, the real SDK
// client pointed at it, and dnslb's DNS server answering from the same
// registry.
type r53Env struct {
	srv    *r53test.Server
	client *route53.Client
	zoneID string
	dns    string
}

func newR53Env(t *testing.T, inject func(string) error) *r53Env {
	t.Helper()
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	srv := r53test.Start(t, r53test.Options{Inject: inject})
	cl := route53.New(route53.Options{BaseEndpoint: aws.String(srv.URL), Region: "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider(r53test.KeyID, r53test.Secret, ""),
		RetryMaxAttempts: 1, HTTPClient: &http.Client{Timeout: 10 * time.Second}})
	e := &r53Env{srv: srv, client: cl, dns: startDNS(t, srv)}
	out, err := cl.CreateHostedZone(context.Background(), &route53.CreateHostedZoneInput{
		Name: aws.String("lb.test"), CallerReference: aws.String("agent-test")})
	if err != nil {
		t.Fatalf("CreateHostedZone: %v", err)
	}
	e.zoneID = strings.TrimPrefix(aws.ToString(out.HostedZone.Id), "/hostedzone/")
	return e
}

func startDNS(t *testing.T, srv *r53test.Server) string {
	t.Helper()
	d, err := dnsserver.New(dnsserver.Config{Addr: "127.0.0.1:0", Snapshot: srv.Registry, UDPSockets: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("dns: %v", err)
		}
	})
	return d.Addr()
}

// addresses asks the DNS server for name's A records, n times, and
// returns the addresses seen.
func (e *r53Env) addresses(t *testing.T, name string, n int) map[string]bool {
	t.Helper()
	seen := map[string]bool{}
	for range n {
		m := new(dns.Msg)
		m.SetQuestion(dns.Fqdn(name), dns.TypeA)
		in, _, err := (&dns.Client{Net: "udp"}).Exchange(m, e.dns)
		if err != nil {
			t.Fatalf("query %s: %v", name, err)
		}
		for _, rr := range in.Answer {
			if a, ok := rr.(*dns.A); ok {
				seen[a.A.String()] = true
			}
		}
	}
	return seen
}

// upsert writes a weighted A set through the SDK, as another instance or
// an operator would.
func (e *r53Env) upsert(t *testing.T, id string, weight, ttl int64, ip string) {
	t.Helper()
	_, err := e.client.ChangeResourceRecordSets(context.Background(), &route53.ChangeResourceRecordSetsInput{
		HostedZoneId: aws.String(e.zoneID), ChangeBatch: &types.ChangeBatch{Changes: []types.Change{{Action: types.ChangeActionUpsert,
			ResourceRecordSet: &types.ResourceRecordSet{Name: aws.String("www.lb.test."), Type: types.RRTypeA, SetIdentifier: aws.String(id),
				Weight: aws.Int64(weight), TTL: aws.Int64(ttl), ResourceRecords: []types.ResourceRecord{{Value: aws.String(ip)}}}}}}})
	if err != nil {
		t.Fatalf("UPSERT %s: %v", id, err)
	}
}

// setIDs lists the set identifiers of www.lb.test A.
func (e *r53Env) setIDs(t *testing.T) []string {
	t.Helper()
	out, err := e.client.ListResourceRecordSets(context.Background(), &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(e.zoneID)})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, rs := range out.ResourceRecordSets {
		if aws.ToString(rs.Name) == "www.lb.test." && rs.Type == types.RRTypeA {
			ids = append(ids, aws.ToString(rs.SetIdentifier))
		}
	}
	return ids
}

// events is a slog handler that hands each log message to a channel, so
// that a test waits for what the agent did instead of sleeping.
type events struct {
	slog.Handler
	c chan slog.Record
}

func newEvents() *events {
	return &events{Handler: slog.NewTextHandler(testWriter{}, &slog.HandlerOptions{Level: slog.LevelDebug}), c: make(chan slog.Record, 1000)}
}

func (h *events) Handle(ctx context.Context, r slog.Record) error {
	select {
	case h.c <- r:
	default:
	}
	return nil
}
func (h *events) WithAttrs(as []slog.Attr) slog.Handler { return h }
func (h *events) WithGroup(string) slog.Handler         { return h }

type testWriter struct{}

func (testWriter) Write(b []byte) (int, error) { return len(b), nil }

// await waits for the log message msg and returns when it was logged
// (not when this goroutine got it, which may be later).
func (h *events) await(t *testing.T, msg string) time.Time {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case r := <-h.c:
			if r.Message == msg {
				return r.Time
			}
		case <-timeout:
			t.Fatalf("no %q logged", msg)
		}
	}
}

func (e *r53Env) agent(ev *events, zoneID string, ttl int64, margin time.Duration) *agent.Agent {
	return agent.New(agent.Config{Name: "www.lb.test", Weight: 10, TTL: ttl, Margin: margin,
		Identity: agent.Static{SetID: "i-1", Address: "127.0.0.41"}, Logger: slog.New(ev),
		RequestTimeout: 5 * time.Second, Backoff: agent.Backoff{Min: time.Millisecond, Max: 20 * time.Millisecond},
		Route53: &agent.Route53{Client: e.client, HostedZoneID: zoneID, Poll: 5 * time.Millisecond}})
}

// TestRoute53RegisterAndDrain: through throttling on every call, the
// agent UPSERTs its set (DNS answers with it, beside another instance's),
// and on drain DELETEs exactly its own, waits until INSYNC and then TTL +
// margin before it returns.
func TestRoute53RegisterAndDrain(t *testing.T) {
	th := newThrottler(map[string]int{"ChangeResourceRecordSets": 4, "GetChange": 2, "ListResourceRecordSets": 2})
	e := newR53Env(t, th.inject)
	e.upsert(t, "i-2", 10, 1, "127.0.0.42")
	th.mu.Lock()
	th.armed = true
	th.mu.Unlock()
	ev := newEvents()
	a := e.agent(ev, e.zoneID, 1, 200*time.Millisecond)
	drain := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- a.Run(context.Background(), drain) }()

	ev.await(t, "registered in route 53")
	if got := e.addresses(t, "www.lb.test", 60); !got["127.0.0.41"] || !got["127.0.0.42"] {
		t.Errorf("answers %v; want both instances", got)
	}
	drain <- "test"
	deleted := ev.await(t, "deleted from route 53")
	if got := e.addresses(t, "www.lb.test", 20); got["127.0.0.41"] || !got["127.0.0.42"] {
		t.Errorf("answers after the drain %v; want the other instance only", got)
	}
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if waited := time.Since(deleted); waited < time.Second+200*time.Millisecond {
		t.Errorf("the agent left %s after the deletion; want at least TTL 1s + margin 200ms", waited)
	}
	if ids := e.setIDs(t); len(ids) != 1 || ids[0] != "i-2" {
		t.Errorf("sets left %v; want [i-2]", ids)
	}
	th.mu.Lock()
	defer th.mu.Unlock()
	for op, n := range map[string]int{"ChangeResourceRecordSets": 4, "GetChange": 2, "ListResourceRecordSets": 2} {
		if th.hit[op] != n {
			t.Errorf("%s: %d errors injected; want %d (calls %v)", op, th.hit[op], n, th.calls)
		}
	}
}

// TestRoute53DeletesTheSetAsItIs: a set changed behind the agent's back
// (weight and value) is still deleted, exactly as Route 53 holds it.
func TestRoute53DeletesTheSetAsItIs(t *testing.T) {
	e := newR53Env(t, nil)
	ev := newEvents()
	a := e.agent(ev, e.zoneID, 0, 0)
	if err := a.Once(context.Background(), "register"); err != nil {
		t.Fatal(err)
	}
	e.upsert(t, "i-1", 50, 0, "127.0.0.43")
	if err := a.Once(context.Background(), "deregister"); err != nil {
		t.Fatal(err)
	}
	if ids := e.setIDs(t); len(ids) != 0 {
		t.Errorf("sets left %v; want none", ids)
	}
	// Gone already: nothing to delete, no error.
	if err := a.Once(context.Background(), "deregister"); err != nil {
		t.Errorf("second deregister: %v", err)
	}
}

// TestRoute53PermanentError: an error retrying cannot fix (no such hosted
// zone) ends the agent with Route 53's reason instead of being retried.
func TestRoute53PermanentError(t *testing.T) {
	e := newR53Env(t, nil)
	ev := newEvents()
	err := e.agent(ev, "ZNOSUCHZONE0000", 60, 0).Run(context.Background(), make(chan string))
	var perm interface{ ErrorCode() string }
	if err == nil || !errors.As(err, &perm) || perm.ErrorCode() != "NoSuchHostedZone" {
		t.Fatalf("Run: %v; want NoSuchHostedZone", err)
	}
	if !strings.HasPrefix(err.Error(), "route 53 UPSERT: ") {
		t.Errorf("error %q does not say which call failed", err)
	}
}
