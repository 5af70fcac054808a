package registry

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/store"
	"github.com/dnslb/dnslb/internal/store/boltstore"
)

// fakeClock is the registry's clock in tests: time moves only by advance.
type fakeClock struct{ t atomic.Pointer[time.Time] }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	t := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	c.t.Store(&t)
	return c
}

func (c *fakeClock) Now() time.Time { return *c.t.Load() }

func (c *fakeClock) advance(d time.Duration) {
	t := c.Now().Add(d)
	c.t.Store(&t)
}

type harness struct {
	t      testing.TB
	clock  *fakeClock
	store  store.Store
	reg    *Registry
	prom   *prometheus.Registry
	cancel context.CancelFunc
	done   chan error
}

// newHarness runs a registry over a real bolt file with a fake clock and
// zone lb.test.
func newHarness(t testing.TB, edit func(*Options)) *harness {
	t.Helper()
	path := filepath.Join(t.TempDir(), "dnslb.db")
	st, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, clock: newFakeClock(), store: st, prom: prometheus.NewRegistry()}
	opts := Options{Now: h.clock.Now, Registerer: h.prom, Manual: true}
	if edit != nil {
		edit(&opts)
	}
	h.start(opts)
	t.Cleanup(func() {
		h.stop()
		st.Close()
	})
	if err := h.reg.EnsureZone(context.Background(), "lb.test"); err != nil {
		t.Fatal(err)
	}
	return h
}

func (h *harness) start(opts Options) {
	h.reg = New(h.store, opts)
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel, h.done = cancel, make(chan error, 1)
	go func() { h.done <- h.reg.Run(ctx) }()
	<-h.reg.Ready()
}

func (h *harness) stop() {
	if h.cancel == nil {
		return
	}
	h.cancel()
	if err := <-h.done; err != nil {
		h.t.Errorf("registry: %v", err)
	}
	h.cancel = nil
}

func (h *harness) put(set record.Set) {
	h.t.Helper()
	if _, err := h.reg.Apply(context.Background(), "lb.test", []Change{{Action: Upsert, Set: set}}); err != nil {
		h.t.Fatalf("put %v: %v", set.Key, err)
	}
}

func (h *harness) tick() {
	h.t.Helper()
	if err := h.reg.Tick(context.Background()); err != nil {
		h.t.Fatal(err)
	}
}

// status returns the status of set id of www A, and whether it exists.
func (h *harness) status(id string) (record.Status, bool) {
	h.t.Helper()
	sets, err := h.reg.Sets(context.Background(), "lb.test", Filter{Name: "www", Type: "A", SetID: id})
	if err != nil {
		h.t.Fatal(err)
	}
	if len(sets) == 0 {
		return record.Status{}, false
	}
	return h.reg.Statuses(sets)[0], true
}

func wset(id string, weight int, addr string) record.Set {
	return record.Set{Key: record.Key{Name: "www", Type: record.A, SetID: id}, Weight: weight, TTL: 60, Values: []string{addr}}
}

func leased(id string, lease time.Duration) record.Set {
	s := wset(id, 10, "127.0.1.1")
	s.Lease = record.Duration(lease)
	return s
}

func key(id string) record.Key {
	return record.Key{Zone: "lb.test.", Name: "www.lb.test.", Type: record.A, SetID: id}
}

func TestLeaseExpiryAndDeletion(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.LeaseGrace = 30 * time.Second })
	h.put(leased("a", 15*time.Second))
	h.put(leased("b", 15*time.Second))
	h.put(leased("c", 15*time.Second))
	ctx := context.Background()
	for range 4 { // a, b renew every 5s; c has crashed
		h.clock.advance(5 * time.Second)
		for _, id := range []string{"a", "b"} {
			if _, err := h.reg.Renew(ctx, key(id), nil); err != nil {
				t.Fatal(err)
			}
		}
		h.tick()
	}
	if st, _ := h.status("a"); st.State != "active" || !st.Eligible || st.LeaseRemaining.D() != 15*time.Second {
		t.Errorf("renewed set: %+v", st)
	}
	st, ok := h.status("c")
	if !ok || st.State != "expired" || st.Eligible {
		t.Fatalf("lapsed set c after 20s: %+v", st)
	}
	if got := testutil.ToFloat64(h.reg.metrics.leaseExpiries); got != 1 {
		t.Errorf("dnslb_lease_expiries_total = %v", got)
	}
	h.clock.advance(31 * time.Second)
	for _, id := range []string{"a", "b"} {
		if _, err := h.reg.Renew(ctx, key(id), nil); err != nil {
			t.Fatal(err)
		}
	}
	h.tick()
	if _, ok := h.status("c"); ok {
		t.Errorf("set c still stored after the grace period")
	}
	if _, err := h.reg.Renew(ctx, key("c"), nil); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("renew of a deleted set: %v, want ErrNotFound", err)
	}
	// A lapsed set that renews before its deletion comes back at once.
	for range 4 {
		h.clock.advance(5 * time.Second)
		if _, err := h.reg.Renew(ctx, key("b"), nil); err != nil {
			t.Fatal(err)
		}
		h.tick()
	}
	if st, _ := h.status("a"); st.State != "expired" {
		t.Fatalf("a should have lapsed: %+v", st)
	}
	if _, err := h.reg.Renew(ctx, key("a"), nil); err != nil {
		t.Fatal(err)
	}
	if st, _ := h.status("a"); st.State != "active" || !st.Eligible {
		t.Errorf("a after renewing: %+v", st)
	}
}

func TestLeaseSurvivesRestartWithGrace(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.RestartGrace = 10 * time.Second })
	h.put(leased("a", 15*time.Second))
	h.clock.advance(14 * time.Second)
	h.stop()
	h.clock.advance(60 * time.Second) // the server was down a minute
	h.start(Options{Now: h.clock.Now, Manual: true, RestartGrace: 10 * time.Second})
	h.tick()
	st, ok := h.status("a")
	if !ok || st.State != "active" || st.LeaseRemaining.D() != 15*time.Second || st.LeaseGrace.D() != 10*time.Second {
		t.Fatalf("after restart: %+v (want 15s lease + 10s grace remaining)", st)
	}
	h.clock.advance(26 * time.Second)
	h.tick()
	if st, _ := h.status("a"); st.State != "expired" {
		t.Errorf("not renewed after the restart grace: %+v", st)
	}
}

func TestDrainSafeAtFromServedAnswers(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	h.put(wset("a", 10, "127.0.1.1"))
	h.put(wset("b", 10, "127.0.1.2"))
	h.put(wset("never", 10, "127.0.1.3"))
	served := h.clock.Now()
	h.reg.pub.servedOf(key("a")).Record(served, 60)
	h.clock.advance(20 * time.Second)

	st, err := h.reg.Drain(ctx, key("a"), 5*time.Second, false)
	if err != nil {
		t.Fatal(err)
	}
	if want := served.Add(65 * time.Second); !st.SafeAt.Equal(want) || st.LastServed == nil || !st.LastServed.Equal(served) {
		t.Errorf("safe_at %v, last served %v; want %v from last served + ttl 60 + margin 5", st.SafeAt, st.LastServed, want)
	}
	if s, _ := h.status("a"); s.State != "draining" || s.Eligible {
		t.Errorf("draining set: %+v", s)
	}
	h.clock.advance(44 * time.Second) // one second before safe_at
	h.tick()
	if _, ok := h.status("a"); !ok {
		t.Fatal("set removed before safe_at")
	}
	h.clock.advance(time.Second)
	h.tick()
	if _, ok := h.status("a"); ok {
		t.Fatal("set still there at safe_at")
	}

	// Never served: safe at once. With --keep it stays at weight 0.
	st, err = h.reg.Drain(ctx, key("never"), 5*time.Second, true)
	if err != nil || !st.SafeAt.Equal(h.clock.Now()) {
		t.Fatalf("never-served drain: %+v %v", st, err)
	}
	h.tick()
	sets, _ := h.reg.Sets(ctx, "lb.test", Filter{Name: "www", SetID: "never"})
	if len(sets) != 1 || sets[0].Weight != 0 || sets[0].State != record.Active || sets[0].Drain != nil {
		t.Fatalf("kept set: %+v", sets)
	}
}

func TestDrainLastSetKeepsName(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	h.put(wset("a", 10, "127.0.1.1"))
	if _, err := h.reg.Drain(ctx, key("a"), 0, false); err != nil {
		t.Fatal(err)
	}
	h.tick()
	z, err := h.reg.Zone(ctx, "lb.test")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := z.Policies["www.lb.test."]; !ok {
		t.Errorf("the drained name is forgotten by its zone: %v", z.Policies)
	}
}

// backend is an HTTP health endpoint on its own loopback address.
type backend struct {
	srv     *httptest.Server
	healthy atomic.Bool
}

func newBackend(t testing.TB, ip string) *backend {
	t.Helper()
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
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

// waitStatus waits, on publish notifications, until id's status satisfies ok.
func (h *harness) waitStatus(id string, ok func(record.Status) bool) record.Status {
	h.t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		c := h.reg.pub.published()
		if st, _ := h.status(id); ok(st) {
			return st
		}
		select {
		case <-c:
		case <-deadline:
			st, _ := h.status(id)
			h.t.Fatalf("%s never reached the wanted status; last %+v", id, st)
		}
	}
}

// allowLoopback is serve --check-allow 127.0.0.0/8: the backends of the
// tests are on loopback, which a set's values alone do not allow.
var allowLoopback = record.CheckRules{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}

func TestServerSideHealthCheck(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.Now, o.Checks = time.Now, allowLoopback })
	b := newBackend(t, "127.0.0.21")
	s := wset("a", 10, "127.0.0.21")
	s.Check = &record.Check{Target: b.srv.URL + "/health", Interval: record.Duration(100 * time.Millisecond),
		Timeout: record.Duration(50 * time.Millisecond), Rise: 2, Fall: 2}
	h.put(s)
	if st, _ := h.status("a"); st.Health != "up" || !st.Eligible {
		t.Fatalf("new set should be healthy until its first results: %+v", st)
	}
	b.healthy.Store(false)
	st := h.waitStatus("a", func(s record.Status) bool { return s.Health == "down" })
	if st.Eligible || st.HealthError == "" {
		t.Errorf("down set: %+v", st)
	}
	b.healthy.Store(true)
	h.waitStatus("a", func(s record.Status) bool { return s.Health == "up" && s.Eligible })

	// Operator override wins over checks, both ways.
	ctx := context.Background()
	if err := h.reg.Force(ctx, key("a"), record.ForceDown); err != nil {
		t.Fatal(err)
	}
	if st, _ := h.status("a"); st.Eligible || st.Health != "down (forced)" {
		t.Errorf("forced down: %+v", st)
	}
	if err := h.reg.Force(ctx, key("a"), record.ForceAuto); err != nil {
		t.Fatal(err)
	}
	if st, _ := h.status("a"); !st.Eligible {
		t.Errorf("back to auto: %+v", st)
	}
	if got := testutil.ToFloat64(h.reg.metrics.healthTransitions.WithLabelValues("down")); got < 1 {
		t.Errorf("health transitions to down = %v", got)
	}
}

func TestAgentReportedHealth(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	h.put(leased("a", 15*time.Second))
	no, yes := false, true
	if _, err := h.reg.Renew(ctx, key("a"), &no); err != nil {
		t.Fatal(err)
	}
	if st, _ := h.status("a"); st.Eligible || st.Health != "down (agent)" {
		t.Errorf("reported unhealthy: %+v", st)
	}
	if _, err := h.reg.Renew(ctx, key("a"), &yes); err != nil {
		t.Fatal(err)
	}
	if st, _ := h.status("a"); !st.Eligible {
		t.Errorf("reported healthy again: %+v", st)
	}
}

// TestLapseAfterRevivalAndLeaseChange: the lifecycle looks at a set when
// it is due (see due), so every change that brings a lapse earlier must
// reschedule it: a set revived from expiry (due only at its deletion
// until then), and a lease made shorter.
func TestLapseAfterRevivalAndLeaseChange(t *testing.T) {
	// Two leases only, neither renewing for long stretches: by the brake's
	// rule (brake.go) that is a server cut off; this test is about the
	// schedule, so the brake is off.
	h := newHarness(t, func(o *Options) { o.LeaseGrace = time.Minute; o.BrakeMax = -1 })
	ctx := context.Background()
	h.put(leased("a", 15*time.Second))
	h.put(leased("b", 60*time.Second))
	h.put(wset("c", 10, "127.0.1.3")) // no lease; keeps the name from failing open
	state := func(id string) string {
		st, _ := h.status(id)
		return st.State
	}
	h.clock.advance(16 * time.Second)
	h.tick()
	if got := state("a"); got != "expired" {
		t.Fatalf("a after 16 s of a 15 s lease: %s", got)
	}
	if _, err := h.reg.Renew(ctx, key("a"), nil); err != nil {
		t.Fatal(err)
	}
	h.tick()
	if got := state("a"); got != "active" {
		t.Fatalf("a after renewing: %s", got)
	}
	// 8 s later b's lease becomes 15 s: it lapses 15 s from then, not 60.
	// (Apart from a's lapse, so that the two do not engage the brake.)
	h.clock.advance(8 * time.Second)
	h.tick()
	h.put(leased("b", 15*time.Second))
	h.clock.advance(8 * time.Second)
	h.tick()
	if got := state("a"); got != "expired" {
		t.Errorf("revived a, 16 s after its renewal: %s; want it expired again (not at its old deletion time)", got)
	}
	if got := state("b"); got != "active" {
		t.Errorf("b, 8 s after its lease became 15 s: %s", got)
	}
	h.clock.advance(8 * time.Second)
	h.tick()
	if got := state("b"); got != "expired" {
		t.Errorf("b, 16 s after its lease became 15 s: %s", got)
	}
	if got := testutil.ToFloat64(h.reg.metrics.leaseExpiries); got != 3 {
		t.Errorf("dnslb_lease_expiries_total = %v, want 3", got)
	}
}
