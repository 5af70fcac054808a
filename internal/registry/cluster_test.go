package registry

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dnslb/dnslb/internal/heartbeat"
	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/store"
	"github.com/dnslb/dnslb/internal/store/boltstore"
)

// trio is three registries sharing one store and one fake clock, as three
// servers of a cluster sharing etcd; they ask each other in memory
// (trioPeers) what package cluster asks over HTTP.
type trio struct {
	t     *testing.T
	clock *fakeClock
	store store.Store
	regs  [3]*Registry
	peers [3]*trioPeers
	stops []func()

	mu   sync.Mutex
	cut  map[int]bool // live servers that do not answer their peers
	dead map[int]bool // servers gone from the members: nobody asks them

	served sharedServed
	stores [3]*cuttable // each server's way to the store
}

// cuttable is a store whose server can be cut off from it
// (store.Availability), as etcdstore reports etcd unreachable.
type cuttable struct {
	store.Store
	down atomic.Pointer[error]
}

func (c *cuttable) Unavailable() error {
	if err := c.down.Load(); err != nil {
		return *err
	}
	return nil
}

// cut cuts the server off the store (on), or reconnects it.
func (c *cuttable) cut(on bool) {
	if !on {
		c.down.Store(nil)
		return
	}
	err := fmt.Errorf("etcd unreachable since 12:00: %w", store.ErrUnavailable)
	c.down.Store(&err)
}

// trioPeers are the peers of server self.
type trioPeers struct {
	tr    *trio
	self  int
	after func() // runs once the others answered (a renewal racing the lapse)
}

func (p *trioPeers) Heard(_ context.Context, keys []record.Key) ([]time.Time, error) {
	if p.after != nil {
		defer p.after()
	}
	out := make([]time.Time, len(keys))
	for i, reg := range p.tr.regs {
		p.tr.mu.Lock()
		cut, dead := p.tr.cut[i], p.tr.dead[i]
		p.tr.mu.Unlock()
		switch {
		case i == p.self || dead:
			continue
		case cut:
			return nil, fmt.Errorf("server-%d: no answer", i)
		}
		for j, h := range reg.Heard(keys) {
			if h.After(out[j]) {
				out[j] = h
			}
		}
	}
	return out, nil
}

func newTrio(t *testing.T) *trio {
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "dnslb.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tr := &trio{t: t, clock: newFakeClock(), store: st, cut: map[int]bool{}, dead: map[int]bool{},
		served: sharedServed{marks: map[record.Key]map[int]servedMark{}, mute: map[int]bool{}}}
	for i := range tr.regs {
		tr.peers[i] = &trioPeers{tr: tr, self: i}
		tr.stores[i] = &cuttable{Store: st}
		tr.regs[i] = New(tr.stores[i], Options{Now: tr.clock.Now, Manual: true, Registerer: prometheus.NewRegistry(),
			LeaseGrace: time.Hour, Peers: tr.peers[i], Served: servedView{&tr.served, i}})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func(reg *Registry) { done <- reg.Run(ctx) }(tr.regs[i])
		tr.stops = append(tr.stops, func() { cancel(); <-done })
		<-tr.regs[i].Ready()
	}
	t.Cleanup(func() {
		for _, stop := range tr.stops {
			stop()
		}
		st.Close()
	})
	if err := tr.regs[0].EnsureZone(context.Background(), "lb.test"); err != nil {
		t.Fatal(err)
	}
	return tr
}

// put registers set through server i.
func (tr *trio) put(i int, set record.Set) {
	tr.t.Helper()
	if _, err := tr.regs[i].Apply(context.Background(), "lb.test", []Change{{Action: Upsert, Set: set}}); err != nil {
		tr.t.Fatal(err)
	}
	tr.sync()
}

// renew renews set id through server i.
func (tr *trio) renew(i int, id string) {
	tr.t.Helper()
	if _, err := tr.regs[i].Renew(context.Background(), key(id), nil); err != nil {
		tr.t.Fatalf("renew %s through server %d: %v", id, i, err)
	}
}

// tick runs every server's lifecycle, then waits until all have applied
// what was written.
func (tr *trio) tick() {
	tr.t.Helper()
	for _, reg := range tr.regs {
		if err := reg.Tick(context.Background()); err != nil {
			tr.t.Fatal(err)
		}
	}
	tr.sync()
}

// sync waits until every server has published the store's revision, and
// gives each one more pass (a lapse followed may queue a revival).
func (tr *trio) sync() {
	tr.t.Helper()
	for range 2 {
		rev := tr.rev()
		for _, reg := range tr.regs {
			if err := reg.waitPublished(context.Background(), rev); err != nil {
				tr.t.Fatal(err)
			}
			if err := reg.Tick(context.Background()); err != nil {
				tr.t.Fatal(err)
			}
		}
	}
}

func (tr *trio) rev() int64 {
	rev, err := tr.store.View(context.Background(), func(store.ReadTx) error { return nil })
	if err != nil {
		tr.t.Fatal(err)
	}
	return rev
}

// states is the state of set id on each server, "active" or "expired",
// with "+" when it is in answers.
func (tr *trio) states(id string) [3]string {
	tr.t.Helper()
	var out [3]string
	for i, reg := range tr.regs {
		sets, err := reg.Sets(context.Background(), "lb.test", Filter{Name: "www", Type: "A", SetID: id})
		if err != nil {
			tr.t.Fatal(err)
		}
		if len(sets) == 0 {
			out[i] = "gone"
			continue
		}
		st := reg.Statuses(sets)[0]
		out[i] = st.State
		if st.Eligible {
			out[i] += "+"
		}
	}
	return out
}

func (tr *trio) want(id string, want string) {
	tr.t.Helper()
	if got := tr.states(id); got != [3]string{want, want, want} {
		tr.t.Fatalf("set %s on the three servers: %v, want %s everywhere", id, got, want)
	}
}

// TestClusterRenewalsThroughOneKeepAll: an agent renewing through server 0
// only keeps its set in the answers of all three, with server 1 leading
// (it never hears the agent) and no write to the store; once it stops,
// the set lapses once, everywhere, in one write; a renewal through server
// 2 brings it back everywhere, in one write.
func TestClusterRenewalsThroughOneKeepAll(t *testing.T) {
	tr := newTrio(t)
	tr.regs[1].SetLeading(true)
	tr.put(0, leased("a", 15*time.Second))
	tr.put(0, leased("dead", 15*time.Second))
	rev := tr.rev()
	for range 12 { // a minute
		tr.clock.advance(5 * time.Second)
		tr.renew(0, "a")
		tr.tick()
	}
	tr.want("a", "active+")
	tr.want("dead", "expired")
	if got := tr.rev(); got != rev+1 {
		t.Fatalf("store revision %d after a minute of renewals and one lapse; want %d (one write: the lapse)", got, rev+1)
	}
	for range 4 {
		tr.clock.advance(5 * time.Second)
		tr.tick()
	}
	tr.want("a", "expired")
	if got := tr.rev(); got != rev+2 {
		t.Fatalf("store revision %d after a's lapse; want %d", got, rev+2)
	}
	tr.renew(2, "a")
	tr.sync()
	tr.want("a", "active+")
	if got := tr.rev(); got != rev+3 {
		t.Fatalf("store revision %d after a's revival; want %d", got, rev+3)
	}
}

// TestClusterFollowersNeverExpire: without a leader nothing lapses, and
// a follower's own silence expires nothing.
func TestClusterFollowersNeverExpire(t *testing.T) {
	tr := newTrio(t)
	tr.put(0, leased("a", 15*time.Second))
	for range 6 {
		tr.clock.advance(5 * time.Second)
		tr.tick()
	}
	tr.want("a", "active+")
}

// TestClusterLapseWaitsForSilentServer: a live server that does not
// answer the leader might be hearing the agent: the lapse waits, visibly,
// and is decided once it answers.
func TestClusterLapseWaitsForSilentServer(t *testing.T) {
	tr := newTrio(t)
	tr.regs[0].SetLeading(true)
	tr.put(0, leased("a", 15*time.Second))
	tr.mu.Lock()
	tr.cut[2] = true
	tr.mu.Unlock()
	for range 6 {
		tr.clock.advance(5 * time.Second)
		tr.tick()
	}
	tr.want("a", "active+")
	for i, reg := range tr.regs {
		sets, _ := reg.Sets(context.Background(), "lb.test", Filter{Name: "www", Type: "A", SetID: "a"})
		if st := reg.Statuses(sets)[0]; !st.LapsePending {
			t.Errorf("server %d: lapse_pending not shown: %+v", i, st)
		}
	}
	if n, err := tr.regs[0].LapsesWaiting(); n != 1 || err == nil || err.Error() != "server-2: no answer" {
		t.Fatalf("LapsesWaiting = %d, %v; want 1, server-2: no answer", n, err)
	}
	tr.mu.Lock()
	tr.cut[2] = false
	tr.mu.Unlock()
	tr.clock.advance(lapseRetry)
	tr.tick()
	tr.want("a", "expired")
	if n, err := tr.regs[0].LapsesWaiting(); n != 0 || err != nil {
		t.Fatalf("LapsesWaiting = %d, %v after the answer", n, err)
	}
}

// TestClusterAgentCutFromOneServer: the agent renews through server 2
// while server 0 (the leader) hears nothing; then the agent fails over to
// server 1: the set never leaves any server's answers.
func TestClusterAgentCutFromOneServer(t *testing.T) {
	tr := newTrio(t)
	tr.regs[0].SetLeading(true)
	tr.put(0, leased("a", 15*time.Second))
	for i := range 12 {
		tr.clock.advance(5 * time.Second)
		tr.renew(2-i/6, "a") // server 2, then server 1
		tr.tick()
		tr.want("a", "active+")
	}
}

// TestClusterNewLeaderStartsAfresh: a follower that heard nothing for
// long becomes the leader: it lapses nothing before a whole lease, and
// then only what nobody renews.
func TestClusterNewLeaderStartsAfresh(t *testing.T) {
	tr := newTrio(t)
	tr.regs[0].SetLeading(true)
	for _, id := range []string{"a", "b"} {
		tr.put(0, leased(id, 15*time.Second))
	}
	for range 3 {
		tr.clock.advance(5 * time.Second)
		tr.renew(0, "a")
		tr.renew(0, "b")
		tr.tick()
	}
	tr.regs[0].SetLeading(false) // server 0 dies, with the renewals it heard
	tr.mu.Lock()
	tr.dead[0] = true
	tr.mu.Unlock()
	tr.clock.advance(time.Minute)
	tr.tick()
	tr.want("a", "active+")
	tr.regs[1].SetLeading(true)
	tr.clock.advance(14 * time.Second)
	tr.renew(2, "a") // its agent failed over to server 2
	tr.tick()
	tr.want("a", "active+")
	tr.want("b", "active+")
	tr.clock.advance(2 * time.Second)
	tr.tick()
	tr.want("a", "active+")
	tr.want("b", "expired")
}

// TestClusterRenewalDuringDecisionRevives: a renewal heard by a server
// after it answered the leader, while the lapse is being decided, brings
// the set back as soon as the lapse arrives there.
func TestClusterRenewalDuringDecisionRevives(t *testing.T) {
	tr := newTrio(t)
	tr.regs[0].SetLeading(true)
	tr.put(0, leased("a", 15*time.Second))
	tr.clock.advance(16 * time.Second)
	raced := false
	tr.peers[0].after = func() { // server 2 answered "never", then hears the agent
		if !raced {
			raced = true
			tr.clock.advance(time.Millisecond)
			tr.renew(2, "a")
		}
	}
	tr.tick()
	tr.want("a", "active+")
	if !raced {
		t.Fatal("the leader asked nothing")
	}
	var set record.Set
	if _, err := tr.store.View(context.Background(), func(tx store.ReadTx) (err error) { set, err = tx.Set(key("a")); return err }); err != nil {
		t.Fatal(err)
	}
	if set.Lapsed != nil {
		t.Fatalf("stored lapse %v not cleared", set.Lapsed)
	}
}

// TestClusterHeardUnknown: Heard creates nothing for sets it does not
// follow.
func TestClusterHeardUnknown(t *testing.T) {
	tr := newTrio(t)
	if got := tr.regs[0].Heard([]record.Key{key("x")}); len(got) != 1 || !got[0].IsZero() {
		t.Fatalf("Heard of an unknown set: %v", got)
	}
	if _, err := tr.regs[0].Renew(context.Background(), key("x"), nil); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("renew of an unknown set: %v", err)
	}
}

// TestClusterHeartbeatsThroughFollower: heartbeats signed with the set's
// stored key verify on a follower that never registered the set, and
// keep it in every server's answers; once they stop, it lapses
// everywhere, and a heartbeat to a follower brings it back everywhere.
func TestClusterHeartbeatsThroughFollower(t *testing.T) {
	tr := newTrio(t)
	tr.regs[0].SetLeading(true)
	tr.put(0, leased("a", 15*time.Second))
	st, err := tr.regs[2].Renew(context.Background(), key("a"), nil) // the agent's first renewal, over HTTP, arms server 2
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, reg: tr.regs[2]}
	b, err := h.beater(st.Heartbeat)
	if err != nil {
		t.Fatal(err)
	}
	for range 12 {
		tr.clock.advance(5 * time.Second)
		if _, _, ok := b.beat(false, false); !ok {
			t.Fatal("heartbeat to server 2 refused")
		}
		tr.tick()
	}
	tr.want("a", "active+")
	for range 4 {
		tr.clock.advance(5 * time.Second)
		tr.tick()
	}
	tr.want("a", "expired")
	if _, _, ok := b.beat(false, false); !ok {
		t.Fatal("heartbeat of a lapsed set refused")
	}
	tr.sync()
	tr.want("a", "active+")
}

// TestClusterCutServerRefusesRenewals: a server cut off from the store
// refuses renewals (503 over HTTP; heartbeats are told to renew over
// HTTP), so that its agents renew through another server, which the
// leader hears; once back, it takes them again.
func TestClusterCutServerRefusesRenewals(t *testing.T) {
	tr := newTrio(t)
	tr.regs[0].SetLeading(true)
	tr.put(0, leased("a", 15*time.Second))
	st, err := tr.regs[2].Renew(context.Background(), key("a"), nil)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, reg: tr.regs[2]}
	b, err := h.beater(st.Heartbeat)
	if err != nil {
		t.Fatal(err)
	}
	tr.stores[2].cut(true)
	_, err = tr.regs[2].Renew(context.Background(), key("a"), nil)
	want := "this server is cut off from the cluster's store; renew through another server: etcd unreachable since 12:00: store unavailable"
	if !errors.Is(err, store.ErrUnavailable) || err.Error() != want {
		t.Fatalf("renewal through the cut server: %v, want %s", err, want)
	}
	if res := b.send(b.datagram(false, false)); res.Verdict != heartbeat.RenewOverHTTP {
		t.Fatalf("heartbeat to the cut server: %+v, want renew over HTTP", res)
	}
	tr.stores[2].cut(false)
	if _, err := tr.regs[2].Renew(context.Background(), key("a"), nil); err != nil {
		t.Fatalf("renewal once reconnected: %v", err)
	}
	if _, _, ok := b.beat(false, false); !ok {
		t.Fatal("heartbeat once reconnected refused")
	}
}

// TestClusterWriteKeepingTheLapse: an operator's write to a lapsed set
// (forcing its health) keeps it lapsed on every server, where on a single
// server any write renews; a renewal then brings it back, and it lapses
// again once nobody renews it.
func TestClusterWriteKeepingTheLapse(t *testing.T) {
	tr := newTrio(t)
	tr.regs[0].SetLeading(true)
	tr.put(0, leased("a", 15*time.Second))
	tr.clock.advance(16 * time.Second)
	tr.tick()
	tr.want("a", "expired")
	if err := tr.regs[1].Force(context.Background(), key("a"), record.ForceUp); err != nil {
		t.Fatal(err)
	}
	tr.sync()
	tr.want("a", "expired")
	tr.renew(1, "a")
	tr.sync()
	tr.want("a", "active+")
	tr.clock.advance(16 * time.Second)
	tr.tick()
	tr.want("a", "expired")
}
