package registry

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/dnslb/dnslb/internal/heartbeat"
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
	// beat is one heartbeat, applied at once (in production a batch
	// lands a few milliseconds later).
	beat := func(tok *beater, reported, healthy bool) (time.Duration, bool, bool) {
		lease, draining, ok := tok.beat(reported, healthy)
		h.reg.leases.applyQueued(h.clock.Now())
		return lease, draining, ok
	}
	unknown := &beater{reg: h.reg, cr: heartbeat.Credentials{Token: heartbeat.Token{1}}}
	if _, _, ok := beat(unknown, false, false); ok {
		t.Fatal("a token nobody handed out renewed a lease")
	}
	st, err := h.reg.Renew(ctx, key("a"), nil)
	if err != nil || st.Heartbeat == nil {
		t.Fatalf("renew: %+v, %v; want a heartbeat token", st, err)
	}
	tok, err := h.beater(st.Heartbeat)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := h.reg.Renew(ctx, key("a"), nil); again.Heartbeat.Token != st.Heartbeat.Token {
		t.Errorf("the token changed between renewals: %s, then %s", st.Heartbeat.Token, again.Heartbeat.Token)
	}

	// Heartbeats alone keep the lease for a minute of 5 s renewals.
	for range 12 {
		h.clock.advance(5 * time.Second)
		lease, draining, ok := beat(tok, false, false)
		if !ok || lease != 15*time.Second || draining {
			t.Fatalf("beat: lease %s draining %v ok %v", lease, draining, ok)
		}
		h.tick()
	}
	if st, _ := h.status("a"); st.State != "active" || !st.Eligible {
		t.Fatalf("after a minute of heartbeats: %+v", st)
	}
	// The lease changes in the store: heartbeats answer the new one.
	h.put(leased("a", 30*time.Second))
	if lease, _, ok := beat(tok, false, false); !ok || lease != 30*time.Second {
		t.Errorf("beat after the lease became 30s: %s, %v", lease, ok)
	}

	// Reported health takes the set out of answers and back, without an
	// HTTP call and without waiting for a tick.
	beat(tok, true, false)
	h.waitAnswered("127.0.1.1", false)
	beat(tok, true, true)
	h.waitAnswered("127.0.1.1", true)

	// A lapsed set comes back with a heartbeat, as with an HTTP renewal.
	h.clock.advance(31 * time.Second)
	h.tick()
	if st, _ := h.status("a"); st.State != "expired" {
		t.Fatalf("after 31 s without renewal: %+v", st)
	}
	if _, _, ok := beat(tok, false, false); !ok {
		t.Fatal("beat of a lapsed set (not yet deleted) refused")
	}
	h.waitAnswered("127.0.1.1", true)

	// Gone from the store: the token names nothing any more.
	if _, err := h.reg.Apply(ctx, "lb.test", []Change{{Action: Delete, Set: wset("a", 0, "")}}); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := beat(tok, false, false); ok {
		t.Fatal("beat of a deleted set renewed it")
	}
	// Registered again: the old token stays dead, the next HTTP renewal
	// hands out a new one.
	h.put(leased("a", 15*time.Second))
	if _, _, ok := beat(tok, false, false); ok {
		t.Fatal("a deleted set's token renewed the new registration")
	}
	st2, err := h.reg.Renew(ctx, key("a"), nil)
	if err != nil || st2.Heartbeat == nil || st2.Heartbeat.Token == st.Heartbeat.Token {
		t.Fatalf("renew after re-registration: %+v, %v; want a new token", st2, err)
	}
}

// TestBeatWakesOnlyForChanges: a plain renewal waits in the queue for the
// lifecycle tick (no goroutine woken per heartbeat); one that changes
// answers (a new health report, a lapsed set back) is applied at once.
func TestBeatWakesOnlyForChanges(t *testing.T) {
	h := newHarness(t, nil) // ticks only when the test says
	h.put(leased("a", 15*time.Second))
	h.put(wset("b", 10, "127.0.1.2"))
	st, err := h.reg.Renew(context.Background(), key("a"), nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := h.beater(st.Heartbeat)
	h.clock.advance(10 * time.Second)
	if _, _, ok := tok.beat(false, false); !ok {
		t.Fatal("beat refused")
	}
	time.Sleep(20 * time.Millisecond) // were applyBeats woken, it would have emptied the queue by now
	if n := len(h.reg.leases.beats.queue); n != 1 {
		t.Fatalf("a plain renewal: %d queued, want 1 (waiting for the tick)", n)
	}
	h.tick() // applies it before looking for lapses
	if st, _ := h.status("a"); st.LeaseRemaining.D() != 15*time.Second || len(h.reg.leases.beats.queue) != 0 {
		t.Fatalf("after the tick: %+v, %d queued", st, len(h.reg.leases.beats.queue))
	}
	// Health: down, then up, each in answers without a tick.
	tok.beat(true, false)
	h.waitAnswered("127.0.1.1", false)
	tok.beat(true, true)
	h.waitAnswered("127.0.1.1", true)
	// Lapsed, then back with a heartbeat, without a tick.
	h.clock.advance(16 * time.Second)
	h.tick()
	h.waitAnswered("127.0.1.1", false)
	tok.beat(false, false)
	h.waitAnswered("127.0.1.1", true)
}

// TestBeatDoesNotWaitForTheRegistry: heartbeats run on the DNS loops, which
// must not stall while the registry holds its lock (a lifecycle tick over
// many leases, a snapshot build); renewals land once it is free.
func TestBeatDoesNotWaitForTheRegistry(t *testing.T) {
	h := newHarness(t, nil)
	h.put(leased("a", 15*time.Second))
	st, err := h.reg.Renew(context.Background(), key("a"), nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := h.beater(st.Heartbeat)
	h.clock.advance(10 * time.Second)
	h.reg.leases.mu.Lock()
	done := make(chan bool)
	go func() { _, _, ok := tok.beat(false, false); done <- ok }()
	select {
	case ok := <-done:
		if !ok {
			t.Error("beat refused")
		}
	case <-time.After(10 * time.Second):
		t.Error("Beat waited for the registry's lock")
	}
	h.reg.leases.mu.Unlock()
	h.reg.leases.applyQueued(h.clock.Now())
	if st, _ := h.status("a"); st.LeaseRemaining.D() != 15*time.Second {
		t.Errorf("lease after the queued beat landed: %+v", st)
	}
}

// TestBeatShedsWhenTheQueueIsFull: past the queue, heartbeats are refused
// (the agents fall back to HTTP), never blocking.
func TestBeatShedsWhenTheQueueIsFull(t *testing.T) {
	h := newHarness(t, nil)
	h.put(leased("a", 15*time.Second))
	st, _ := h.reg.Renew(context.Background(), key("a"), nil)
	tok, _ := h.beater(st.Heartbeat)
	h.reg.leases.mu.Lock() // applyBeats cannot empty the queue meanwhile
	refused := 0
	for range beatQueue + 10 {
		if _, _, ok := tok.beat(false, false); !ok {
			refused++
		}
	}
	h.reg.leases.mu.Unlock()
	if refused < 10 {
		t.Errorf("%d of %d beats refused past a queue of %d", refused, beatQueue+10, beatQueue)
	}
	if got := testutil.ToFloat64(h.reg.metrics.beatsShed); got != float64(refused) {
		t.Errorf("dnslb_heartbeats_shed_total = %v, want %d", got, refused)
	}
}

// TestBeatAllocatesNothing: heartbeats run on the DNS loops, which must not
// feed the garbage collector.
func TestBeatAllocatesNothing(t *testing.T) {
	h := newHarness(t, nil)
	h.put(leased("a", 15*time.Second))
	st, err := h.reg.Renew(context.Background(), key("a"), nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := h.beater(st.Heartbeat)
	if err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(1000, func() {
		tok.beat(true, true)
		if len(h.reg.leases.beats.queue) > beatQueue/2 {
			h.reg.leases.applyQueued(h.clock.Now())
		}
	}); n != 0 {
		t.Errorf("Beat allocates %.1f times", n)
	}
}

// beater sends heartbeats as an agent does, with the credentials one
// HTTP renewal handed out.
type beater struct {
	reg *Registry
	cr  heartbeat.Credentials
	buf []byte
}

// beater reads the credentials of a renewal.
func (h *harness) beater(hb *record.Heartbeat) (*beater, error) {
	if hb == nil {
		return nil, errors.New("no heartbeat credentials")
	}
	tok, err := heartbeat.ParseToken(hb.Token)
	if err != nil {
		return nil, err
	}
	key, err := heartbeat.ParseKey(hb.Key)
	if err != nil {
		return nil, err
	}
	return &beater{reg: h.reg, cr: heartbeat.Credentials{Token: tok, Key: key, Counter: hb.Counter},
		buf: make([]byte, 0, heartbeat.RequestSize)}, nil
}

// datagram signs the next heartbeat.
func (b *beater) datagram(reported, healthy bool) []byte {
	health := heartbeat.Unreported
	if reported {
		health = heartbeat.HealthOf(healthy)
	}
	b.cr.Counter++
	b.buf = heartbeat.Request{Counter: b.cr.Counter, Token: b.cr.Token, Health: health}.Append(b.buf[:0], &b.cr.Key)
	return b.buf
}

// beat sends the next heartbeat; ok says it renewed.
func (b *beater) beat(reported, healthy bool) (lease time.Duration, draining, ok bool) {
	res := b.send(b.datagram(reported, healthy))
	return res.Lease, res.Draining, res.Verdict == heartbeat.Renewed
}

// send hands a datagram to the registry as the handler does.
func (b *beater) send(dgram []byte) heartbeat.Result {
	q, err := heartbeat.ParseRequest(dgram)
	if err != nil {
		return heartbeat.Result{Verdict: 255}
	}
	return b.reg.Beat(q)
}
