package registry

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/store"
)

// TestRenewFollowsTheStore: renewals read a set's lease from memory, which
// must follow every change to the set: registered, lease dropped, deleted.
func TestRenewFollowsTheStore(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	renew := func() (record.LeaseStatus, error) {
		return h.reg.Renew(ctx, record.Key{Zone: "lb.test", Name: "www", Type: record.A, SetID: "a"}, nil)
	}
	if _, err := renew(); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("renew of an unknown set: %v, want ErrNotFound", err)
	}
	h.put(leased("a", 15*time.Second))
	st, err := renew()
	if err != nil || st.Lease != record.Duration(15*time.Second) || st.State != "active" || st.Key != key("a") {
		t.Fatalf("renew of a leased set: %+v, %v", st, err)
	}
	h.put(leased("a", 30*time.Second))
	if st, err := renew(); err != nil || st.Lease != record.Duration(30*time.Second) {
		t.Fatalf("renew after the lease changed to 30s: %+v, %v", st, err)
	}
	h.put(wset("a", 10, "127.0.1.1")) // no lease any more
	var fe *record.FieldError
	if _, err := renew(); !errors.As(err, &fe) || fe.Field != "lease" {
		t.Fatalf("renew of a set without a lease: %v, want a lease field error", err)
	}
	h.put(leased("a", 15*time.Second))
	if _, err := h.reg.Apply(ctx, "lb.test", []Change{{Action: Delete, Set: wset("a", 0, "")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := renew(); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("renew of a deleted set: %v, want ErrNotFound", err)
	}
}

// TestBeat: a heartbeat (the UDP renewal) renews the lease named by the
// token an HTTP renewal handed out, carries health both ways, revives a
// lapsed set, and stops working once the set is gone.
func TestBeat(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.LeaseGrace = time.Minute })
	ctx := context.Background()
	h.put(leased("a", 15*time.Second))
	h.put(wset("b", 10, "127.0.1.2")) // so that the name does not fail open without a
	var unknown [16]byte
	unknown[0] = 1
	if _, _, ok := h.reg.Beat(unknown, nil); ok {
		t.Fatal("a token nobody handed out renewed a lease")
	}
	st, err := h.reg.Renew(ctx, key("a"), nil)
	if err != nil || st.Heartbeat == nil {
		t.Fatalf("renew: %+v, %v; want a heartbeat token", st, err)
	}
	tok, err := heartbeatToken(st.Heartbeat.Token)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := h.reg.Renew(ctx, key("a"), nil); again.Heartbeat.Token != st.Heartbeat.Token {
		t.Errorf("the token changed between renewals: %s, then %s", st.Heartbeat.Token, again.Heartbeat.Token)
	}

	// Heartbeats alone keep the lease for a minute of 5 s renewals.
	for range 12 {
		h.clock.advance(5 * time.Second)
		lease, draining, ok := h.reg.Beat(tok, nil)
		if !ok || lease != 15*time.Second || draining {
			t.Fatalf("beat: lease %s draining %v ok %v", lease, draining, ok)
		}
		h.tick()
	}
	if st, _ := h.status("a"); st.State != "active" || !st.Eligible {
		t.Fatalf("after a minute of heartbeats: %+v", st)
	}

	// Reported health takes the set out of answers and back, without an
	// HTTP call and without waiting for a tick.
	down, up := false, true
	h.reg.Beat(tok, &down)
	h.waitAnswered("127.0.1.1", false)
	h.reg.Beat(tok, &up)
	h.waitAnswered("127.0.1.1", true)

	// A lapsed set comes back with a heartbeat, as with an HTTP renewal.
	h.clock.advance(16 * time.Second)
	h.tick()
	if st, _ := h.status("a"); st.State != "expired" {
		t.Fatalf("after 16 s without renewal: %+v", st)
	}
	if _, _, ok := h.reg.Beat(tok, nil); !ok {
		t.Fatal("beat of a lapsed set (not yet deleted) refused")
	}
	h.waitAnswered("127.0.1.1", true)

	// Gone from the store: the token names nothing any more.
	if _, err := h.reg.Apply(ctx, "lb.test", []Change{{Action: Delete, Set: wset("a", 0, "")}}); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := h.reg.Beat(tok, nil); ok {
		t.Fatal("beat of a deleted set renewed it")
	}
	// Registered again: the old token stays dead, the next HTTP renewal
	// hands out a new one.
	h.put(leased("a", 15*time.Second))
	if _, _, ok := h.reg.Beat(tok, nil); ok {
		t.Fatal("a deleted set's token renewed the new registration")
	}
	st2, err := h.reg.Renew(ctx, key("a"), nil)
	if err != nil || st2.Heartbeat == nil || st2.Heartbeat.Token == st.Heartbeat.Token {
		t.Fatalf("renew after re-registration: %+v, %v; want a new token", st2, err)
	}
}

// TestBeatAllocatesNothing: 2,000 heartbeats a second share a core with the
// DNS server; they must not feed the garbage collector.
func TestBeatAllocatesNothing(t *testing.T) {
	h := newHarness(t, nil)
	h.put(leased("a", 15*time.Second))
	st, err := h.reg.Renew(context.Background(), key("a"), nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := heartbeatToken(st.Heartbeat.Token)
	if err != nil {
		t.Fatal(err)
	}
	healthy := true
	if n := testing.AllocsPerRun(1000, func() { h.reg.Beat(tok, &healthy) }); n != 0 {
		t.Errorf("Beat allocates %.1f times", n)
	}
}

func heartbeatToken(s string) (t [16]byte, err error) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(t) {
		return t, fmt.Errorf("token %q: want 32 hex digits", s)
	}
	return [16]byte(b), nil
}
