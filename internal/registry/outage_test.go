package registry

import (
	"context"
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dnslb/dnslb/internal/store"
	"github.com/dnslb/dnslb/internal/store/boltstore"
)

// outageStore is a real bolt store that says it is unavailable when told
// to, as an etcd store cut off from etcd does.
type outageStore struct {
	store.Store
	down atomic.Bool
}

func (s *outageStore) Unavailable() error {
	if s.down.Load() {
		return errors.New("etcd at 127.0.0.1:2379 unreachable: " + store.ErrUnavailable.Error())
	}
	return nil
}

// TestFailStatic: while the store is unavailable no lease lapses however
// long it lasts and nothing is deleted; when it returns, every lease gets
// a whole TTL (plus RestartGrace) before a set nobody renews lapses, and
// a set that renews stays.
func TestFailStatic(t *testing.T) {
	bolt, err := boltstore.Open(filepath.Join(t.TempDir(), "dnslb.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st := &outageStore{Store: bolt}
	h := &harness{t: t, clock: newFakeClock(), store: st, prom: prometheus.NewRegistry()}
	h.start(Options{Now: h.clock.Now, Registerer: h.prom, Manual: true, LeaseGrace: 30 * time.Second, RestartGrace: 5 * time.Second})
	t.Cleanup(func() { h.stop(); bolt.Close() })
	if err := h.reg.EnsureZone(context.Background(), "lb.test"); err != nil {
		t.Fatal(err)
	}
	h.put(leased("a", 15*time.Second))
	h.put(leased("b", 15*time.Second))
	h.put(leased("c", 15*time.Second))
	h.clock.advance(14 * time.Second)
	h.tick()

	st.down.Store(true)
	for range 10 { // ten minutes without the store and without renewals
		h.clock.advance(time.Minute)
		h.tick()
	}
	for _, id := range []string{"a", "b", "c"} {
		if s, ok := h.status(id); !ok || s.State != "active" || !s.Eligible {
			t.Fatalf("set %s after 10 minutes of store outage: %+v (stored %v), want active and answered", id, s, ok)
		}
	}

	st.down.Store(false)
	h.clock.advance(time.Second)
	h.tick()
	h.clock.advance(15 * time.Second) // < TTL + RestartGrace since the last outage pass
	if _, err := h.reg.Renew(context.Background(), key("b"), nil); err != nil {
		t.Fatal(err)
	}
	h.tick()
	if s, _ := h.status("a"); s.State != "active" {
		t.Fatalf("a %v after the store came back: %+v, want active (its lease restarted with a grace)", 16*time.Second, s)
	}
	h.clock.advance(5 * time.Second)
	h.tick()
	if s, _ := h.status("a"); s.State != "expired" {
		t.Errorf("a, never renewed, 21s after the store came back: %+v, want expired", s)
	}
	if s, _ := h.status("b"); s.State != "active" {
		t.Errorf("b, renewed after the store came back: %+v, want active", s)
	}
}
