package registry

import (
	"context"
	"testing"
	"time"
)

// TestDrainHoldsTheLargestTTLServed: answers went out with TTL 300, then
// the TTL was lowered to 60 and the set drained. Resolvers may hold the
// 300-second answer, so safe_at follows it, not the configured 60; and
// it survives a restart of the server.
func TestDrainHoldsTheLargestTTLServed(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	addr := h.dnsOf(t)
	a := wset("a", 10, "127.0.1.1")
	a.TTL = 300
	h.put(a)
	t0 := h.clock.Now()
	if got := answerTTLs(ask(t, addr, "www.lb.test.")); got[0] != 300 {
		t.Fatalf("answer TTL %v, want 300", got)
	}
	h.clock.advance(10 * time.Second)
	a.TTL = 60
	h.put(a)
	if got := answerTTLs(ask(t, addr, "www.lb.test.")); got[0] != 60 {
		t.Fatalf("answer TTL after the change %v, want 60", got)
	}
	h.clock.advance(5 * time.Second)

	st, err := h.reg.Drain(ctx, key("a"), 5*time.Second, false)
	if err != nil {
		t.Fatal(err)
	}
	want := t0.Add(305 * time.Second) // served at t0 with TTL 300, + margin 5
	if !st.SafeAt.Equal(want) || st.ServedTTL != 300 {
		t.Fatalf("safe_at %v (served TTL %d), want %v from the answer served with TTL 300", st.SafeAt, st.ServedTTL, want)
	}

	h.stop()
	h.start(Options{Now: h.clock.Now, Manual: true})
	if st, err = h.reg.DrainStatus(ctx, key("a")); err != nil || !st.SafeAt.Equal(want) {
		t.Fatalf("after a restart: safe_at %v (%v), want %v", st.SafeAt, err, want)
	}
	h.clock.advance(want.Sub(h.clock.Now()) - time.Second)
	h.tick()
	if _, ok := h.status("a"); !ok {
		t.Fatal("set removed before safe_at")
	}
	h.clock.advance(time.Second)
	h.tick()
	if _, ok := h.status("a"); ok {
		t.Fatal("set still there at safe_at")
	}
}

// TestOldServedTTLDoesNotExtendDrain: an answer with TTL 300 served more
// than 300 s ago is in no cache any more, so it must not lengthen a drain
// that starts after the TTL was lowered.
func TestOldServedTTLDoesNotExtendDrain(t *testing.T) {
	for _, servedAgain := range []bool{false, true} {
		h := newHarness(t, nil)
		ctx := context.Background()
		addr := h.dnsOf(t)
		a := wset("a", 10, "127.0.1.1")
		a.TTL = 300
		h.put(a)
		ask(t, addr, "www.lb.test.") // with TTL 300
		h.clock.advance(400 * time.Second)
		a.TTL = 60
		h.put(a)
		last := h.clock.Now()
		if servedAgain {
			ask(t, addr, "www.lb.test.") // with TTL 60
		}
		h.clock.advance(10 * time.Second)

		st, err := h.reg.Drain(ctx, key("a"), 5*time.Second, false)
		if err != nil {
			t.Fatal(err)
		}
		switch now := h.clock.Now(); {
		case servedAgain && (!st.SafeAt.Equal(last.Add(65*time.Second)) || st.ServedTTL != 60):
			t.Errorf("served again with TTL 60: safe_at %v (served TTL %d), want %v: last served + 60 + 5", st.SafeAt, st.ServedTTL, last.Add(65*time.Second))
		case !servedAgain && st.SafeAt.After(now):
			t.Errorf("served only with TTL 300, 410 s ago: safe_at %v, after now %v", st.SafeAt, now)
		}
	}
}

// TestDrainAfterRestartWaitsForAnswersServedBefore: the answers a server
// gave before it restarted are not known to the new process, but resolvers
// may hold them until the restart plus the TTL; a drain right after the
// restart must wait for that, not call the set never served.
func TestDrainAfterRestartWaitsForAnswersServedBefore(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	h.put(wset("a", 10, "127.0.1.1")) // TTL 60
	h.stop()
	h.start(Options{Now: h.clock.Now, Manual: true})
	restart := h.clock.Now()
	h.clock.advance(10 * time.Second)
	st, err := h.reg.Drain(ctx, key("a"), 5*time.Second, false)
	if err != nil {
		t.Fatal(err)
	}
	if want := restart.Add(65 * time.Second); !st.SafeAt.Equal(want) {
		t.Errorf("safe_at %v, want %v: restart + TTL 60 + margin 5", st.SafeAt, want)
	}
	// Long after the restart, a set not served since is safe at once.
	h.put(wset("b", 10, "127.0.1.2"))
	h.stop()
	h.start(Options{Now: h.clock.Now, Manual: true})
	h.clock.advance(66 * time.Second)
	if st, err = h.reg.Drain(ctx, key("b"), 5*time.Second, false); err != nil || st.SafeAt.After(h.clock.Now()) {
		t.Errorf("drain 66 s after the restart: safe_at %v (%v), want at once (now %v)", st.SafeAt, err, h.clock.Now())
	}
}
