package registry

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/dnslb/dnslb/internal/record"
)

// TestBrakeSparesDeadNeighbours is the scenario of issue 10: three sets
// with a 3 s lease that never renew beside one live agent renewing the
// same name every second. The live set proves the network works: the dead
// leave answers within the lease plus one lifecycle pass, and the brake
// stays off.
func TestBrakeSparesDeadNeighbours(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	for i, id := range []string{"a", "b", "c", "live"} {
		s := leased(id, 3*time.Second)
		s.Values = []string{fmt.Sprintf("127.0.1.%d", i+1)}
		h.put(s)
	}
	start := h.clock.Now()
	for h.clock.Now().Sub(start) < 4*time.Second { // lease + one pass
		h.clock.advance(time.Second)
		if _, err := h.reg.Renew(ctx, key("live"), nil); err != nil {
			t.Fatal(err)
		}
		h.tick()
	}
	for _, id := range []string{"a", "b", "c"} {
		if st, _ := h.status(id); st.State != "expired" || st.Eligible || st.Braked {
			t.Errorf("dead set %s, %s after its last renewal: %+v; want expired", id, h.clock.Now().Sub(start), st)
		}
	}
	for i := range 3 {
		if addr := fmt.Sprintf("127.0.1.%d", i+1); h.answered(addr) {
			t.Errorf("dead %s still answered", addr)
		}
	}
	if !h.answered("127.0.1.4") {
		t.Error("the live set is not answered")
	}
	if st, _ := h.status("live"); st.State != "active" || st.Braked {
		t.Errorf("live set: %+v", st)
	}
	if b := h.reg.Brake(); b.State != "off" || b.Held != 0 || testutil.ToFloat64(h.reg.metrics.brake) != 0 {
		t.Errorf("the brake fired beside a renewing set: %+v", b)
	}
}

// fleet registers sets on two names (www: a, b, c; api: x, y), each with a
// 15 s lease, renews them for 20 s, and returns the renewal function.
func fleet(t *testing.T, h *harness) (renew func(ids ...string)) {
	ctx := context.Background()
	all := []string{"a", "b", "c", "x", "y"}
	for i, id := range all {
		s := leased(id, 15*time.Second)
		s.Values = []string{fmt.Sprintf("127.0.1.%d", i+1)}
		if id == "x" || id == "y" {
			s.Name = "api"
		}
		h.put(s)
	}
	renew = func(ids ...string) {
		t.Helper()
		for _, id := range ids {
			k := key(id)
			if id == "x" || id == "y" {
				k.Name = "api.lb.test."
			}
			if _, err := h.reg.Renew(ctx, k, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	for range 4 {
		h.clock.advance(5 * time.Second)
		renew(all...)
		h.tick()
	}
	return renew
}

// statusAny returns the status of set id of www or (x, y) api.
func (h *harness) statusAny(id string) record.Status {
	h.t.Helper()
	name := "www"
	if id == "x" || id == "y" {
		name = "api"
	}
	sets, err := h.reg.Sets(context.Background(), "lb.test", Filter{Name: name, Type: "A", SetID: id})
	if err != nil || len(sets) != 1 {
		h.t.Fatalf("%s: %v %v", id, sets, err)
	}
	return h.reg.Statuses(sets)[0]
}

// expiredCount counts the sets of fleet that are expired.
func (h *harness) expiredCount() int {
	n := 0
	for _, id := range []string{"a", "b", "c", "x", "y"} {
		if h.statusAny(id).State == "expired" {
			n++
		}
	}
	return n
}

// TestBrakeHoldsWhenAllRenewalsStop: every renewal on the server stops at
// once (its network broke, heartbeats blocked): nobody expires until
// --brake-max, the brake is visible (status, metric, Brake), and then the
// held sets expire at a limited pace.
func TestBrakeHoldsWhenAllRenewalsStop(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.BrakeMax = 2 * time.Minute })
	fleet(t, h)
	stopped := h.clock.Now()
	var engaged time.Time
	for h.clock.Now().Sub(stopped) < 2*time.Minute {
		h.clock.advance(time.Second)
		h.tick()
		if engaged.IsZero() && h.reg.Brake().State == "holding" {
			engaged = h.clock.Now()
		}
	}
	if engaged.IsZero() || engaged.Sub(stopped) > 16*time.Second {
		t.Fatalf("brake engaged at %v after renewals stopped (%+v)", engaged.Sub(stopped), h.reg.Brake())
	}
	if n := h.expiredCount(); n != 0 {
		t.Fatalf("%d sets expired while the brake holds", n)
	}
	st := h.statusAny("a")
	if !st.Braked || !st.Eligible || st.BrakedSince == nil || st.BrakedUntil == nil || !st.BrakedUntil.Equal(engaged.Add(2*time.Minute)) {
		t.Errorf("held set: %+v; want braked, eligible, until %v", st, engaged.Add(2*time.Minute))
	}
	b := h.reg.Brake()
	if b.State != "holding" || b.Held != 5 || b.Leases != 5 || b.Renewing != 0 || b.Until == nil {
		t.Errorf("brake status: %+v", b)
	}
	if got := testutil.ToFloat64(h.reg.metrics.brake); got != 1 {
		t.Errorf("dnslb_lease_brake_engaged = %v while holding", got)
	}
	if got := testutil.ToFloat64(h.reg.metrics.brakeHeld); got != 5 {
		t.Errorf("dnslb_lease_brake_held = %v", got)
	}
	for h.clock.Now().Before(engaged.Add(2 * time.Minute)) {
		h.clock.advance(time.Second)
		h.tick()
		if n := h.expiredCount(); n != 0 && h.clock.Now().Before(engaged.Add(2*time.Minute)) {
			t.Fatalf("%d sets expired %v after the brake engaged", n, h.clock.Now().Sub(engaged))
		}
	}
	// At --brake-max one set goes, then one every 100 ms (10 a second);
	// leases expiring are no sign that renewals returned.
	for i := range 5 {
		if i > 0 {
			h.clock.advance(100 * time.Millisecond)
			h.tick()
		}
		if n, b := h.expiredCount(), h.reg.Brake(); n != i+1 || i < 4 && b.State != "letting-go" {
			t.Fatalf("%d ms past --brake-max: %d expired, brake %s; want %d (rate-limited), letting-go", i*100, n, b.State, i+1)
		}
	}
	if b := h.reg.Brake(); b.State != "released" || b.Held != 0 {
		t.Errorf("brake after letting go: %+v", b)
	}
	if got := testutil.ToFloat64(h.reg.metrics.brake); got != 0 {
		t.Errorf("dnslb_lease_brake_engaged = %v after letting go", got)
	}
}

// TestBrakeRelease: an operator's release expires every held set at once;
// the brake stays off until renewals return.
func TestBrakeRelease(t *testing.T) {
	h := newHarness(t, nil)
	fleet(t, h)
	for range 16 {
		h.clock.advance(time.Second)
		h.tick()
	}
	if b := h.reg.Brake(); b.State != "holding" || b.Held != 5 {
		t.Fatalf("brake before release: %+v", b)
	}
	b, err := h.reg.ReleaseBrake(context.Background())
	if err != nil || b.State != "released" || b.Held != 0 {
		t.Fatalf("release: %+v, %v", b, err)
	}
	if n := h.expiredCount(); n != 5 {
		t.Errorf("%d expired after the release, want 5", n)
	}
	for i := range 3 {
		if h.answered(fmt.Sprintf("127.0.1.%d", i+1)) {
			t.Errorf("127.0.1.%d answered after the release", i+1)
		}
	}
}

// TestBrakeRecovers: renewals return while the brake holds: it lets go,
// and a held set that did not renew gets one more lease, then expires
// (the others renewing, the brake does not hold it again).
func TestBrakeRecovers(t *testing.T) {
	h := newHarness(t, nil)
	renew := fleet(t, h)
	for range 16 {
		h.clock.advance(time.Second)
		h.tick()
	}
	if b := h.reg.Brake(); b.State != "holding" {
		t.Fatalf("brake: %+v", b)
	}
	renew("a", "b", "c", "x") // y's instance died meanwhile
	h.clock.advance(time.Second)
	h.tick()
	if b := h.reg.Brake(); b.State != "off" || b.Held != 0 {
		t.Fatalf("brake after renewals returned: %+v", b)
	}
	if st := h.statusAny("y"); st.State != "active" || st.Braked {
		t.Errorf("y right after the recovery: %+v", st)
	}
	for range 3 {
		h.clock.advance(5 * time.Second)
		renew("a", "b", "c", "x")
		h.tick()
	}
	if st := h.statusAny("y"); st.State != "expired" {
		t.Errorf("y a lease after the recovery: %+v", st)
	}
	if n := h.expiredCount(); n != 1 {
		t.Errorf("%d expired, want only y", n)
	}
}
