package registry

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dnslb/dnslb/internal/heartbeat"
	"github.com/dnslb/dnslb/internal/store"
)

// renewedBeater renews set a over HTTP and returns its heartbeat sender.
func (h *harness) renewedBeater(reg *Registry) *beater {
	h.t.Helper()
	st, err := reg.Renew(context.Background(), key("a"), nil)
	if err != nil {
		h.t.Fatal(err)
	}
	b, err := h.beater(st.Heartbeat)
	if err != nil {
		h.t.Fatal(err)
	}
	b.reg = reg
	return b
}

// TestBeatReplayRenewsNothing: a captured heartbeat sent again later is
// dropped as a replay, and the lease lapses as if it had not been sent.
func TestBeatReplayRenewsNothing(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.LeaseGrace = time.Minute })
	h.put(leased("a", 15*time.Second))
	h.put(wset("b", 10, "127.0.1.2"))
	b := h.renewedBeater(h.reg)
	captured := bytes.Clone(b.datagram(false, false))
	if res := b.send(captured); res.Verdict != heartbeat.Renewed {
		t.Fatalf("the genuine heartbeat: %+v", res)
	}
	h.reg.leases.applyQueued(h.clock.Now())
	for range 3 {
		h.clock.advance(10 * time.Second)
		if res := b.send(captured); res.Verdict != heartbeat.Replay || res.Key != nil {
			t.Fatalf("replayed heartbeat: %+v, want a replay (not answered)", res)
		}
		h.reg.leases.applyQueued(h.clock.Now())
		h.tick()
	}
	if st, _ := h.status("a"); st.State != "expired" {
		t.Fatalf("30 s after the last genuine heartbeat, replays only: %+v, want expired", st)
	}
}

// TestBeatForgedHealthDropped: the health byte is covered by the MAC, so
// an attacker cannot turn a live instance's "up" into "down", nor a sick
// one's "down" into "up"; nor does a valid key id with a wrong MAC work.
func TestBeatForgedHealthDropped(t *testing.T) {
	h := newHarness(t, nil)
	h.put(leased("a", 15*time.Second))
	h.put(wset("b", 10, "127.0.1.2"))
	b := h.renewedBeater(h.reg)
	flipped := func(reported, healthy bool, to heartbeat.Health) []byte {
		d := bytes.Clone(b.datagram(reported, healthy))
		d[5] = byte(to)
		return d
	}
	if res := b.send(flipped(true, true, heartbeat.Down)); res.Verdict != heartbeat.BadMAC {
		t.Fatalf("up flipped to down: %+v, want bad MAC", res)
	}
	h.reg.leases.applyQueued(h.clock.Now())
	h.waitAnswered("127.0.1.1", true)
	if _, _, ok := b.beat(true, false); !ok { // the agent itself reports down
		t.Fatal("genuine down refused")
	}
	h.reg.leases.applyQueued(h.clock.Now())
	h.waitAnswered("127.0.1.1", false)
	if res := b.send(flipped(true, false, heartbeat.Up)); res.Verdict != heartbeat.BadMAC {
		t.Fatalf("down flipped to up: %+v, want bad MAC", res)
	}
	h.reg.leases.applyQueued(h.clock.Now())
	h.waitAnswered("127.0.1.1", false)

	wrong := *b
	wrong.cr.Key = heartbeat.Key{0x99}
	if res := wrong.send(wrong.datagram(true, true)); res.Verdict != heartbeat.BadMAC || res.Key != nil {
		t.Fatalf("valid key id, wrong MAC: %+v, want bad MAC (not answered)", res)
	}
}

// TestBeatAnotherServerVerifies: a second registry over the same store
// (as a cluster's servers share one) knows the set's key: it verifies a
// heartbeat and, having no counter floor of its own yet, tells the agent
// to renew over HTTP; after that renewal its heartbeats renew there, and
// one captured at the first server replays at neither. A restart is the
// same case.
func TestBeatAnotherServerVerifies(t *testing.T) {
	h := newHarness(t, nil)
	h.put(leased("a", 15*time.Second))
	b := h.renewedBeater(h.reg)
	captured := bytes.Clone(b.datagram(false, false))
	if res := b.send(captured); res.Verdict != heartbeat.Renewed {
		t.Fatalf("first server: %+v", res)
	}

	reg2 := New(h.store, Options{Now: h.clock.Now, Registerer: prometheus.NewRegistry(), Manual: true})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- reg2.Run(ctx) }()
	defer func() { cancel(); <-done }()
	<-reg2.Ready()
	h.clock.advance(time.Second)

	at2 := *b
	at2.reg = reg2
	if res := at2.send(at2.datagram(false, false)); res.Verdict != heartbeat.RenewOverHTTP || res.Key == nil || *res.Key != b.cr.Key {
		t.Fatalf("second server, before an HTTP renewal there: %+v, want renew over HTTP, signed", res)
	}
	forged := at2
	forged.cr.Key = heartbeat.Key{1}
	if res := forged.send(forged.datagram(false, false)); res.Verdict != heartbeat.BadMAC {
		t.Fatalf("second server, forged: %+v, want bad MAC", res)
	}
	b2 := h.renewedBeater(reg2)
	if b2.cr.Token != b.cr.Token || b2.cr.Key != b.cr.Key || b2.cr.Counter <= b.cr.Counter {
		t.Fatalf("second server's credentials %+v; want the same key, a higher floor than %d", b2.cr, b.cr.Counter)
	}
	if _, _, ok := b2.beat(false, true); !ok {
		t.Fatal("second server, after an HTTP renewal there: heartbeat refused")
	}
	if res := b2.send(captured); res.Verdict != heartbeat.Replay {
		t.Fatalf("second server, a datagram captured at the first: %+v, want replay", res)
	}

	// Restart the first: it too wants an HTTP renewal first.
	h.stop()
	h.start(Options{Now: h.clock.Now, Registerer: prometheus.NewRegistry(), Manual: true})
	b.reg = h.reg
	if res := b.send(captured); res.Verdict != heartbeat.RenewOverHTTP {
		t.Fatalf("restarted server, a captured datagram: %+v, want renew over HTTP (renews nothing)", res)
	}
	b3 := h.renewedBeater(h.reg)
	if res := b3.send(captured); res.Verdict != heartbeat.Replay {
		t.Fatalf("restarted server after the HTTP renewal, a captured datagram: %+v, want replay", res)
	}
	if _, _, ok := b3.beat(false, true); !ok {
		t.Fatal("restarted server, after an HTTP renewal: heartbeat refused")
	}
}

// TestBeatKeyWrittenOnce: the key is made when the set is registered and
// kept across re-registrations and renewals by its owner; the API's
// caller cannot choose it; a set stored without one gets one at its first
// renewal, written once.
func TestBeatKeyWrittenOnce(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	set := leased("a", 15*time.Second)
	set.BeatKey = heartbeat.Key{7}.String() // chosen by the caller: ignored
	h.put(set)
	stored, err := h.reg.Set(ctx, key("a"))
	if err != nil || stored.BeatKey == "" || stored.BeatKey == set.BeatKey {
		t.Fatalf("registered set's key %q (%v); want a new one", stored.BeatKey, err)
	}
	st, _ := h.reg.Renew(ctx, key("a"), nil)
	if st.Heartbeat == nil || st.Heartbeat.Key != stored.BeatKey {
		t.Fatalf("renewal hands out %+v, want the stored key", st.Heartbeat)
	}
	rev := stored.Revision
	h.reg.Renew(ctx, key("a"), nil)
	h.put(leased("a", 15*time.Second)) // registered again
	again, _ := h.reg.Set(ctx, key("a"))
	if again.BeatKey != stored.BeatKey {
		t.Errorf("re-registration changed the key")
	}
	if again.Revision == rev {
		t.Fatal("no write")
	}

	// A set stored without a key (before keys were), straight into the store.
	bare := again
	bare.BeatKey = ""
	rev, err = h.store.Update(ctx, func(tx store.Tx) error { return tx.PutSet(bare) })
	if err != nil {
		t.Fatal(err)
	}
	if err := h.reg.waitPublished(ctx, rev); err != nil {
		t.Fatal(err)
	}
	st, err = h.reg.Renew(ctx, key("a"), nil)
	if err != nil || st.Heartbeat == nil || st.Heartbeat.Key == "" {
		t.Fatalf("first renewal of a set without a key: %+v, %v; want one", st.Heartbeat, err)
	}
	withKey, _ := h.reg.Set(ctx, key("a"))
	st2, _ := h.reg.Renew(ctx, key("a"), nil)
	after, _ := h.reg.Set(ctx, key("a"))
	if withKey.BeatKey != st.Heartbeat.Key || st2.Heartbeat.Key != st.Heartbeat.Key || after.Revision != withKey.Revision {
		t.Errorf("key written more than once: %q, %q, %q; revision %d then %d",
			withKey.BeatKey, st.Heartbeat.Key, st2.Heartbeat.Key, withKey.Revision, after.Revision)
	}
}

// BenchmarkBeat is one heartbeat through the handler into the lease
// engine: parse, look up, verify the MAC, check the counter, queue, sign
// the answer. The same datagram is sent every time, its counter floor
// lowered again between sends, so that the agent's signing is not timed.
func BenchmarkBeat(b *testing.B) {
	h := newHarness(b, nil)
	h.put(leased("a", 15*time.Second))
	bt := h.renewedBeater(h.reg)
	floor := bt.cr.Counter
	req := bytes.Clone(bt.datagram(false, false))
	hd := heartbeat.NewHandler(heartbeat.Config{Renew: h.reg.Beat})
	e := h.reg.leases.beats.byTok[bt.cr.Token]
	out := make([]byte, 0, heartbeat.AnswerSize)
	b.ReportAllocs()
	for b.Loop() {
		e.high.Store(floor)
		if resp, _ := hd.Answer(req, out); resp == nil {
			b.Fatal("no answer")
		}
		if len(h.reg.leases.beats.queue) > beatQueue/2 {
			h.reg.leases.applyQueued(h.clock.Now())
		}
	}
}
