package api_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/dnslb/dnslb/internal/api"
	"github.com/dnslb/dnslb/internal/record"
)

// TestBeatKeyOnlyToItsRenewers: a set's heartbeat key is handed out by a
// renewal only, to whoever may renew the set (its owner, an admin), never
// by a write's answer or a listing; a takeover replaces it.
func TestBeatKeyOnlyToItsRenewers(t *testing.T) {
	e := newAuthEnv(t, func(c *api.Config) { c.Heartbeat = netip.MustParseAddrPort("127.0.0.1:5353") })
	ctx := context.Background()
	a, b, ops, ro := e.as("pool"), e.as("pool"), e.as("ops"), e.as("ro")
	res, err := a.PutSet(ctx, "lb.test", leased("i-a"))
	if err != nil {
		t.Fatal(err)
	}
	stored, _ := e.reg.Set(ctx, record.Key{Zone: "lb.test", Name: "www", Type: "A", SetID: "i-a"})
	if stored.BeatKey == "" || res.RRSet.BeatKey != "" {
		t.Fatalf("stored key %q; the registration's answer shows %q, want nothing", stored.BeatKey, res.RRSet.BeatKey)
	}
	st, err := a.Renew(ctx, "lb.test", "www", "A", "i-a", nil)
	if err != nil || st.Heartbeat == nil || st.Heartbeat.Key != stored.BeatKey || st.Heartbeat.Counter == 0 || st.Heartbeat.Port != 5353 {
		t.Fatalf("owner's renewal: %+v, %v; want the stored key and a floor", st.Heartbeat, err)
	}
	if st, err := ops.Renew(ctx, "lb.test", "www", "A", "i-a", nil); err != nil || st.Heartbeat.Key != stored.BeatKey {
		t.Errorf("admin's renewal: %+v, %v", st.Heartbeat, err)
	}
	if _, err := b.Renew(ctx, "lb.test", "www", "A", "i-a", nil); err == nil {
		t.Error("another instance with the pool token renewed (and got the key)")
	}
	if _, err := ro.Renew(ctx, "lb.test", "www", "A", "i-a", nil); err == nil {
		t.Error("a read token renewed (and got the key)")
	}
	sets, err := ops.Sets(ctx, "lb.test", "www", "A", "i-a")
	if err != nil || len(sets) != 1 || sets[0].BeatKey != "" {
		t.Fatalf("listing: %+v, %v; want no key", sets, err)
	}

	// Taken over once its lease lapsed: a new key, which the old owner lacks.
	e.clock.add(time.Minute)
	if err := e.reg.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.PutSet(ctx, "lb.test", leased("i-a")); err != nil {
		t.Fatal(err)
	}
	now, _ := e.reg.Set(ctx, record.Key{Zone: "lb.test", Name: "www", Type: "A", SetID: "i-a"})
	if now.BeatKey == "" || now.BeatKey == stored.BeatKey {
		t.Errorf("key after a takeover %q, want a new one", now.BeatKey)
	}
}
