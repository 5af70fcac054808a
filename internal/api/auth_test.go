package api_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dnslb/dnslb/internal/api"
	"github.com/dnslb/dnslb/internal/api/client"
	"github.com/dnslb/dnslb/internal/auth"
	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/registry"
	"github.com/dnslb/dnslb/internal/store/boltstore"
)

// The tokens of authEnv, by name; their secrets are the names.
const tokensFile = `ops admin %ops
pool register:www.lb.test,*.pool.lb.test %pool
one register:www.lb.test@i-1 %one
ro read %ro
`

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

type authEnv struct {
	reg   *registry.Registry
	srv   *httptest.Server
	clock *clock
	logs  *syncBuf
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuf) Write(p []byte) (int, error) { b.mu.Lock(); defer b.mu.Unlock(); return b.b.Write(p) }
func (b *syncBuf) String() string              { b.mu.Lock(); defer b.mu.Unlock(); return b.b.String() }

// newAuthEnv runs the API with the tokens of tokensFile over a registry
// on a fake clock, with zone lb.test.
func newAuthEnv(t testing.TB, edit func(*api.Config)) *authEnv {
	t.Helper()
	return newAuthEnvWith(t, nil, edit)
}

// newAuthEnvWith is newAuthEnv with the registry's options edited by regEdit
// (when not nil).
func newAuthEnvWith(t testing.TB, regEdit func(*registry.Options), edit func(*api.Config)) *authEnv {
	t.Helper()
	text := tokensFile
	for _, n := range []string{"ops", "pool", "one", "ro"} {
		text = strings.Replace(text, "%"+n, auth.Hash(n), 1)
	}
	ts, err := auth.Parse([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "dnslb.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := &authEnv{clock: &clock{now: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}, logs: &syncBuf{}}
	opts := registry.Options{Now: e.clock.Now, Manual: true, LeaseGrace: time.Hour}
	if regEdit != nil {
		regEdit(&opts)
	}
	e.reg = registry.New(st, opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.reg.Run(ctx) }()
	cfg := api.Config{Registry: e.reg, Tokens: auth.Static(ts), Logger: slog.New(slog.NewTextHandler(e.logs, nil)),
		Extra: map[string]http.Handler{"GET /debug/pprof/": http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("profile")) })}}
	if edit != nil {
		edit(&cfg)
	}
	e.srv = httptest.NewServer(api.New(cfg))
	t.Cleanup(func() {
		e.srv.Close()
		cancel()
		<-done
		st.Close()
	})
	<-e.reg.Ready()
	if _, err := e.as("ops").CreateZone(context.Background(), client.ZoneRequest{Name: "lb.test"}); err != nil {
		t.Fatal(err)
	}
	return e
}

// as is a client (one instance) holding the token named tok.
func (e *authEnv) as(tok string) *client.Client {
	cl, _ := client.New(e.srv.URL, e.srv.Client())
	cl.SetToken(tok)
	return cl
}

func leased(id string) client.SetRequest {
	lease := record.Duration(15 * time.Second)
	return client.SetRequest{Name: "www", Type: "A", SetID: id, Weight: ptr(10), TTL: ptr[int64](60), Values: []string{"127.0.1.1"}, Lease: &lease}
}

// wantErr checks err is the API error status/code with message msg.
func wantErr(t *testing.T, what string, err error, status int, code, msg string) {
	t.Helper()
	ce, ok := err.(*client.Error)
	if !ok || ce.Status != status || ce.Code != code || msg != "" && ce.Message != msg {
		t.Errorf("%s: got %v, want %d %s %q", what, err, status, code, msg)
	}
}

// TestTokensRequired: without a token, or with an unknown one, the API
// answers 401 with WWW-Authenticate: Bearer; health probes need none.
func TestTokensRequired(t *testing.T) {
	e := newAuthEnv(t, nil)
	ctx := context.Background()
	_, err := e.as("").Zones(ctx)
	wantErr(t, "no token", err, 401, "unauthenticated", "this API needs a bearer token: send Authorization: Bearer TOKEN (dnslb --token, DNSLB_TOKEN or --token-file)")
	_, err = e.as("nope").PutSet(ctx, "lb.test", leased("i-1"))
	wantErr(t, "unknown token", err, 401, "unauthenticated", "the bearer token is not one of this server's tokens (revoked, or mistyped); make one with `dnslb token create`")
	resp, err := http.Get(e.srv.URL + "/v1/zones")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("WWW-Authenticate"); got != `Bearer realm="dnslb"` {
		t.Errorf("WWW-Authenticate %q", got)
	}
	for _, p := range []string{"/healthz", "/readyz"} {
		if resp, err := http.Get(e.srv.URL + p); err != nil || resp.StatusCode != 200 {
			t.Errorf("%s without a token: %v %v", p, resp, err)
		} else {
			resp.Body.Close()
		}
	}
}

// TestScopes: what read and register tokens may not do, with messages
// that say what token would.
func TestScopes(t *testing.T) {
	e := newAuthEnv(t, nil)
	ctx := context.Background()
	ro, pool, one := e.as("ro"), e.as("pool"), e.as("one")
	if _, err := ro.Zones(ctx); err != nil {
		t.Errorf("read token lists zones: %v", err)
	}
	if _, err := ro.Sets(ctx, "lb.test", "", "", ""); err != nil {
		t.Errorf("read token lists sets: %v", err)
	}
	_, err := ro.PutSet(ctx, "lb.test", leased("i-1"))
	wantErr(t, "read token writes", err, 403, "permission_denied", `PUT /v1/zones/lb.test/rrsets needs a token with scope register (for a set it registered) or admin; token "ro" has scope read`)
	_, err = pool.CreateZone(ctx, client.ZoneRequest{Name: "evil.test"})
	wantErr(t, "register token creates a zone", err, 403, "permission_denied", `POST /v1/zones needs a token with scope admin; token "pool" has scope register`)
	_, err = pool.DeleteZone(ctx, "lb.test", true)
	wantErr(t, "register token deletes the zone", err, 403, "permission_denied", `DELETE /v1/zones/lb.test needs a token with scope admin; token "pool" has scope register`)
	_, err = pool.Zones(ctx)
	wantErr(t, "register token lists", err, 403, "permission_denied", `GET /v1/zones needs a token with scope read or admin; token "pool" has scope register`)
	req := leased("i-1")
	req.Name = "api"
	_, err = pool.PutSet(ctx, "lb.test", req)
	wantErr(t, "register token outside its names", err, 403, "permission_denied", `token "pool" may write names matching www.lb.test, *.pool.lb.test; api.lb.test. is not one of them`)
	req.Name = "a.pool"
	if _, err := pool.PutSet(ctx, "lb.test", req); err != nil {
		t.Errorf("register token under its wildcard: %v", err)
	}
	req.Name = "pool"
	_, err = pool.PutSet(ctx, "lb.test", req)
	wantErr(t, "wildcard does not match its suffix", err, 403, "permission_denied", "")
	_, err = pool.PutSet(ctx, "lb.test", client.SetRequest{Name: "www", Type: "TXT", Values: []string{"x"}})
	wantErr(t, "register token writes a simple set", err, 403, "permission_denied", `token "pool" (scope register) writes weighted sets only: give a set_id; simple sets need an admin token`)
	req = leased("i-1")
	req.Policy = record.FailClosed
	_, err = pool.PutSet(ctx, "lb.test", req)
	wantErr(t, "register token sets a policy", err, 403, "permission_denied", `policy is a setting of the whole name, for admin tokens; token "pool" (scope register) must leave it out`)
	_, err = one.PutSet(ctx, "lb.test", leased("i-2"))
	wantErr(t, "token pinned to a set id", err, 403, "permission_denied", `token "one" may write set id "i-1" only, not "i-2"`)
	if _, err := one.PutSet(ctx, "lb.test", leased("i-1")); err != nil {
		t.Fatalf("pinned token writes its set: %v", err)
	}
	// A token pinned to a set id is a token per instance: proof enough,
	// without the set's secret (another process of the same instance, as
	// in init scripts' agent --once deregister).
	if _, err := e.as("one").Renew(ctx, "lb.test", "www", "A", "i-1", nil); err != nil {
		t.Errorf("pinned token renews without the secret: %v", err)
	}
	_, err = pool.Renew(ctx, "lb.test", "www", "A", "i-1", nil)
	wantErr(t, "the pool token renews the pinned instance's set", err, 403, "permission_denied", "")
	err = one.Force(ctx, "lb.test", "www", "A", "i-1", "up")
	wantErr(t, "register token forces health up", err, 403, "permission_denied", `POST /v1/zones/lb.test/rrsets/www/A/health needs a token with scope admin; token "one" has scope register`)
	_, err = pool.Change(ctx, "lb.test", client.ChangeBatch{Changes: []client.Change{{Action: "DELETE", RRSet: client.SetRequest{Name: "www", Type: "A", SetID: "i-1"}}}})
	wantErr(t, "register token sends a batch", err, 403, "permission_denied", `POST /v1/zones/lb.test/changes needs a token with scope admin; token "pool" has scope register`)
	if _, err := e.as("one").DeleteSet(ctx, "lb.test", "www", "A", "i-1"); err != nil {
		t.Errorf("pinned token deletes its set without the secret: %v", err)
	}
	// pprof and backups are admin's.
	for _, tok := range []string{"ro", "pool"} {
		req, _ := http.NewRequest("GET", e.srv.URL+"/debug/pprof/", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 403 {
			t.Errorf("pprof with %s: %v %v", tok, resp, err)
		} else {
			resp.Body.Close()
		}
	}
	req2, _ := http.NewRequest("GET", e.srv.URL+"/debug/pprof/", nil)
	req2.Header.Set("Authorization", "Bearer ops")
	if resp, err := http.DefaultClient.Do(req2); err != nil || resp.StatusCode != 200 {
		t.Errorf("pprof with admin: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
}

// TestSetOwnership: two instances share the pool's register token; each
// proves its own set with the secret its registration answered, and
// cannot change the other's. An admin can; a lapsed set can be taken over
// (an agent that restarted and lost its secret registers again).
func TestSetOwnership(t *testing.T) {
	e := newAuthEnv(t, nil)
	ctx := context.Background()
	a, b, ops := e.as("pool"), e.as("pool"), e.as("ops")
	res, err := a.PutSet(ctx, "lb.test", leased("i-a"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(res.SetSecret, auth.SetPrefix) || a.SetSecret("lb.test", "www", "A", "i-a") != res.SetSecret {
		t.Fatalf("registration answered secret %q; client keeps %q", res.SetSecret, a.SetSecret("lb.test", "www", "A", "i-a"))
	}
	if res.RRSet.OwnerHash != "" {
		t.Errorf("the answer shows the owner hash")
	}
	if _, err := b.PutSet(ctx, "lb.test", leased("i-b")); err != nil {
		t.Fatal(err)
	}
	// b has the pool token but not a's secret.
	notOwner := `set www.lb.test. A set i-a belongs to the registration that created it: send its secret in X-Dnslb-Set-Secret (answered as set_secret when it was registered), or use an admin token`
	req := leased("i-a")
	req.Weight = ptr(0)
	_, err = b.PutSet(ctx, "lb.test", req)
	wantErr(t, "b reweights a's set", err, 403, "permission_denied", `set www.lb.test. A set i-a is registered by another instance whose lease is alive: send the set's secret in X-Dnslb-Set-Secret, wait until its lease lapses, or use an admin token`)
	_, err = b.Renew(ctx, "lb.test", "www", "A", "i-a", ptr(false))
	wantErr(t, "b reports a down", err, 403, "permission_denied", notOwner)
	_, err = b.Drain(ctx, "lb.test", "www", "A", "i-a", client.DrainRequest{})
	wantErr(t, "b drains a", err, 403, "permission_denied", notOwner)
	_, err = b.DeleteSet(ctx, "lb.test", "www", "A", "i-a")
	wantErr(t, "b deletes a", err, 403, "permission_denied", notOwner)
	b.RememberSecret("lb.test", "www", "A", "i-a", auth.NewSetSecret())
	_, err = b.DeleteSet(ctx, "lb.test", "www", "A", "i-a")
	wantErr(t, "b deletes a with a made-up secret", err, 403, "permission_denied", notOwner)
	// a does all of it to its own set; an admin reweights it without a
	// secret, and a still owns it.
	if _, err := a.Renew(ctx, "lb.test", "www", "A", "i-a", ptr(true)); err != nil {
		t.Errorf("a renews its set: %v", err)
	}
	if _, err := ops.PutSet(ctx, "lb.test", req); err != nil {
		t.Errorf("admin reweights a's set: %v", err)
	}
	if _, err := a.PutSet(ctx, "lb.test", leased("i-a")); err != nil {
		t.Errorf("a re-registers with its secret after the admin's write: %v", err)
	}
	// The store keeps the hash only; listings never show it.
	sets, err := ops.Sets(ctx, "lb.test", "www", "A", "")
	if err != nil || len(sets) != 2 || sets[0].OwnerHash != "" {
		t.Fatalf("listing: %+v %v", sets, err)
	}
	stored, _ := e.reg.Set(ctx, record.Key{Zone: "lb.test", Name: "www", Type: "A", SetID: "i-a"})
	if stored.OwnerHash != auth.Hash(res.SetSecret) {
		t.Errorf("stored owner hash %q, want the secret's", stored.OwnerHash)
	}
	// a's agent restarts and loses its secret: refused while the lease
	// lives, taken over with a new secret once it lapsed.
	a2 := e.as("pool")
	_, err = a2.PutSet(ctx, "lb.test", leased("i-a"))
	wantErr(t, "re-register without the secret, lease alive", err, 403, "permission_denied", "")
	e.clock.add(time.Minute)
	if _, err := b.Renew(ctx, "lb.test", "www", "A", "i-b", nil); err != nil {
		t.Fatal(err)
	}
	if err := e.reg.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	res2, err := a2.PutSet(ctx, "lb.test", leased("i-a"))
	if err != nil || res2.SetSecret == "" || res2.SetSecret == res.SetSecret {
		t.Fatalf("re-register after the lease lapsed: %+v %v", res2, err)
	}
	_, err = a.Renew(ctx, "lb.test", "www", "A", "i-a", nil)
	wantErr(t, "the old secret after a takeover", err, 403, "permission_denied", notOwner)
	if _, err := a2.DeleteSet(ctx, "lb.test", "www", "A", "i-a"); err != nil {
		t.Errorf("the new owner deletes its set: %v", err)
	}
	// The audit log names the token of every write, refused ones too.
	logs := e.logs.String()
	for _, want := range []string{`msg="api write" method=DELETE path=/v1/zones/lb.test/rrsets/www/A status=403 zone=lb.test. set="www.lb.test. A set i-a" token=pool remote=`,
		`msg="api write" method=DELETE path=/v1/zones/lb.test/rrsets/www/A status=200 zone=lb.test. set="www.lb.test. A set i-a" revision=`,
		`token=ops remote=`} {
		if !strings.Contains(logs, want) {
			t.Errorf("audit log lacks %q:\n%s", want, logs)
		}
	}
}

// TestPprofOpenAPILoopbackOnly: without tokens, profiles are served to
// loopback clients only.
func TestPprofOpenAPILoopbackOnly(t *testing.T) {
	srv := api.New(api.Config{Extra: map[string]http.Handler{"GET /debug/pprof/": http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {})}})
	for remote, want := range map[string]int{"127.0.0.1:4000": 200, "[::1]:4000": 200, "192.0.2.7:4000": 403} {
		req := httptest.NewRequest("GET", "http://127.0.0.1/debug/pprof/", nil)
		req.RemoteAddr = remote
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, req)
		if w.Code != want {
			t.Errorf("pprof from %s: %d, want %d: %s", remote, w.Code, want, w.Body)
		}
	}
}
