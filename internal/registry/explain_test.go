package registry

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/dnslb/dnslb/internal/dnsserver"
	"github.com/dnslb/dnslb/internal/record"
)

// dnsNoRRL is dnsOf without response rate limiting: the test asks one
// name thousands of times from one address.
func (h *harness) dnsNoRRL(t *testing.T) string {
	t.Helper()
	srv, err := dnsserver.New(dnsserver.Config{Addr: "127.0.0.1:0", Snapshot: h.reg, Now: h.clock.Now, UDPSockets: 1, RRL: &dnsserver.RRL{Off: true}})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("dns server: %v", err)
		}
	})
	return srv.Addr()
}

// countAnswers asks addr n times for www.lb.test A and counts the answers
// by address.
func countAnswers(t *testing.T, addr string, n int) map[string]int {
	t.Helper()
	c := &dns.Client{Net: "udp"}
	conn, err := c.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	counts := map[string]int{}
	for range n {
		m := new(dns.Msg)
		m.SetQuestion("www.lb.test.", dns.TypeA)
		in, _, err := c.ExchangeWithConn(m, conn)
		if err != nil {
			t.Fatal(err)
		}
		for _, rr := range in.Answer {
			counts[rr.(*dns.A).A.String()]++
		}
	}
	return counts
}

// chiSquare tests counts (by address) against the probabilities of ex (by
// the set's first value); it fails when an address with probability 0 is
// answered or the fit is off at p < 0.001.
func chiSquare(t *testing.T, ex record.Explanation, counts map[string]int, n int) {
	t.Helper()
	stat, df := 0.0, -1
	for _, s := range ex.Sets {
		got := float64(counts[s.Values[0]])
		if s.Probability == 0 {
			if got > 0 {
				t.Errorf("set %s (probability 0) answered %v times", s.SetID, got)
			}
			continue
		}
		want := s.Probability * float64(n)
		stat += (got - want) * (got - want) / want
		df++
	}
	// critical values at p = 0.001 for 1..4 degrees of freedom
	crit := []float64{math.Inf(1), 10.83, 13.82, 16.27, 18.47}[max(df, 0)]
	if stat > crit {
		t.Errorf("answers %v do not follow explain's probabilities (chi-square %.1f > %.1f, df %d)", counts, stat, crit, df)
	}
}

// TestExplainMatchesAnswers: explain's reasons name what keeps each set
// out, and its probabilities are those of real DNS answers, also when the
// name fails open.
func TestExplainMatchesAnswers(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	addr := h.dnsNoRRL(t)
	h.put(wset("a", 10, "127.0.1.1"))
	h.put(wset("b", 30, "127.0.1.2"))
	h.put(wset("c", 0, "127.0.1.3"))
	h.put(wset("d", 20, "127.0.1.4"))
	h.put(wset("e", 20, "127.0.1.5"))
	if err := h.reg.Force(ctx, key("d"), record.ForceDown); err != nil {
		t.Fatal(err)
	}
	if _, err := h.reg.Drain(ctx, key("e"), 0, false); err != nil {
		t.Fatal(err)
	}
	ex, err := h.reg.Explain(ctx, "WWW.lb.test", "")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		p      float64
		reason string
	}{
		"a": {0.25, ""}, "b": {0.75, ""},
		"c": {0, "standby (weight 0)"},
		"d": {0, "health forced down by an operator"},
		"e": {0, "draining since 2026-11-24T12:00:00Z; safe to remove"},
	}
	for _, s := range ex.Sets {
		w := want[s.SetID]
		if math.Abs(s.Probability-w.p) > 1e-9 || !strings.HasPrefix(strings.Join(s.Reasons, "; "), w.reason) {
			t.Errorf("set %s: probability %v, reasons %q; want %v, %q", s.SetID, s.Probability, s.Reasons, w.p, w.reason)
		}
	}
	if ex.Name != "www.lb.test." || ex.Failure != "open" || ex.FailOpen || !strings.HasPrefix(ex.Summary, "2 of 5 sets answer: eligible sets with weight > 0") {
		t.Errorf("explanation: %+v", ex)
	}
	const n = 4000
	chiSquare(t, ex, countAnswers(t, addr, n), n)

	for _, id := range []string{"a", "b", "c"} {
		if err := h.reg.Force(ctx, key(id), record.ForceDown); err != nil {
			t.Fatal(err)
		}
	}
	if ex, err = h.reg.Explain(ctx, "www.lb.test.", "A"); err != nil {
		t.Fatal(err)
	}
	if !ex.FailOpen || !strings.HasPrefix(ex.Summary, "FAILING OPEN") || ex.Sets[3].Probability != 20.0/60 {
		t.Errorf("failing open: %+v", ex)
	}
	chiSquare(t, ex, countAnswers(t, addr, n), n)

	if _, err := h.reg.Explain(ctx, "www.elsewhere.test", "A"); err == nil || err.Error() != "name: www.elsewhere.test. is in none of this server's zones" {
		t.Errorf("a name outside the zones: %v", err)
	}
}

// TestExplainReasons: a lapsed lease, an agent's report and a fail-closed
// name are explained in words.
func TestExplainReasons(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.LeaseGrace = time.Hour })
	ctx := context.Background()
	h.put(leased("a", 15*time.Second))
	b := leased("b", 15*time.Second)
	b.Values = []string{"127.0.1.2"}
	h.put(b)
	down := false
	if _, err := h.reg.Renew(ctx, key("b"), &down); err != nil {
		t.Fatal(err)
	}
	h.clock.advance(10 * time.Second)
	if _, err := h.reg.Renew(ctx, key("b"), &down); err != nil {
		t.Fatal(err)
	}
	h.clock.advance(8 * time.Second)
	h.tick() // a lapsed 3 s ago
	ex, err := h.reg.Explain(ctx, "www.lb.test", "A")
	if err != nil {
		t.Fatal(err)
	}
	reasons := func(ex record.Explanation) map[string]string {
		got := map[string]string{}
		for _, s := range ex.Sets {
			got[s.SetID] = strings.Join(s.Reasons, "; ")
		}
		return got
	}
	// Half the leases lapsing at once: the brake holds a, and says so.
	if got := reasons(ex); got["a"] != "lease lapsed 3s ago (no renewal within 15s); braked: the mass-expiry brake keeps it in answers until 2026-11-24T12:02:18Z" ||
		got["b"] != "its agent reports it unhealthy" || ex.Sets[0].Probability != 1 {
		t.Errorf("braked: %q %+v", got, ex)
	}
	if _, err := h.reg.ReleaseBrake(ctx); err != nil {
		t.Fatal(err)
	}
	if ex, err = h.reg.Explain(ctx, "www.lb.test", "A"); err != nil {
		t.Fatal(err)
	}
	if got := reasons(ex); got["a"] != "lease lapsed 3s ago (no renewal within 15s)" || got["b"] != "its agent reports it unhealthy; answered anyway: no set is eligible, so the name fails open" ||
		!ex.FailOpen || ex.Sets[1].Probability != 1 || !strings.HasPrefix(ex.Summary, "FAILING OPEN: no set is eligible, so 1 answer") {
		t.Errorf("released: %q %+v", got, ex)
	}

	fc := wset("x", 10, "127.0.1.9")
	fc.Name = "fc"
	if _, err := h.reg.Apply(ctx, "lb.test", []Change{{Action: Upsert, Set: fc, Policy: record.FailClosed}}); err != nil {
		t.Fatal(err)
	}
	if err := h.reg.Force(ctx, record.Key{Zone: "lb.test.", Name: "fc.lb.test.", Type: record.A, SetID: "x"}, record.ForceDown); err != nil {
		t.Fatal(err)
	}
	if ex, err = h.reg.Explain(ctx, "fc.lb.test", "A"); err != nil {
		t.Fatal(err)
	}
	if ex.Failure != "closed" || ex.FailOpen || ex.Summary != "fails closed: no set is eligible, so the name answers NODATA" || ex.Sets[0].Probability != 0 {
		t.Errorf("fail-closed: %+v", ex)
	}
}
