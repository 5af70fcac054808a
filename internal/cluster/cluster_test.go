package cluster_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/dnslb/dnslb/internal/api"
	"github.com/dnslb/dnslb/internal/api/client"
	"github.com/dnslb/dnslb/internal/auth"
	"github.com/dnslb/dnslb/internal/cluster"
	"github.com/dnslb/dnslb/internal/etcdtest"
	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/registry"
	"github.com/dnslb/dnslb/internal/store"
	"github.com/dnslb/dnslb/internal/store/etcdstore"
)

// clock is a fake clock the registries share; lapses are driven by Tick.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// server is one dnslb server of the test cluster: a registry, its node,
// its API (serving the peer endpoint) on loopback.
type server struct {
	id     string
	store  store.Store
	reg    *registry.Registry
	node   *cluster.Node
	refuse atomic.Bool // the peer endpoint answers 503: cut from the leader's question
	stop   func()      // leaves the cluster (the node stops; the registry keeps running)
	votes  *spiedVotes // the registry's health votes on their way to the node
}

// spiedVotes hands a registry's health votes to its node, noting when
// each was handed over (the moment the server publishes it).
type spiedVotes struct {
	*cluster.Node
	mu   sync.Mutex
	last map[record.Key]vote
}

type vote struct {
	up bool
	at time.Time
}

func (v *spiedVotes) Vote(k record.Key, up bool) {
	v.mu.Lock()
	v.last[k] = vote{up: up, at: time.Now()}
	v.mu.Unlock()
	v.Node.Vote(k, up)
}

// lastVote is the last vote on k handed to the node.
func (v *spiedVotes) lastVote(k record.Key) (vote, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	vt, ok := v.last[k]
	return vt, ok
}

// testCluster is servers on one real etcd, each with its own client and
// store (etcdstore), as separate processes would be.
type testCluster struct {
	t       testing.TB
	clock   *clock
	ec      *etcdtest.Cluster
	etcd    *clientv3.Client
	servers []*server
	cfg     clusterConfig
}

// clusterConfig is how startCluster builds the cluster; options change
// it.
type clusterConfig struct {
	etcdMembers int               // embedded etcd members (default 1)
	checks      record.CheckRules // where the servers' health checks may connect
}

type clusterOption func(*clusterConfig)

// withEtcdMembers runs the servers on an embedded etcd of n members (a
// real raft: every write is replicated to a majority before it commits).
func withEtcdMembers(n int) clusterOption { return func(c *clusterConfig) { c.etcdMembers = n } }

// withLoopbackChecks lets the servers' health checks probe loopback
// backends (serve --check-allow 127.0.0.0/8).
func withLoopbackChecks() clusterOption {
	return func(c *clusterConfig) {
		c.checks = record.CheckRules{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}
	}
}

func startCluster(t testing.TB, n int, opts ...clusterOption) *testCluster {
	cfg := clusterConfig{etcdMembers: 1}
	for _, o := range opts {
		o(&cfg)
	}
	ec := etcdtest.Start(t, cfg.etcdMembers)
	tc := &testCluster{t: t, clock: &clock{t: time.Unix(1_800_000_000, 0)}, ec: ec, etcd: ec.Client(t), cfg: cfg}
	for i := range n {
		tc.servers = append(tc.servers, tc.start(fmt.Sprintf("s%d", i), ec))
	}
	if err := tc.servers[0].reg.EnsureZone(context.Background(), "lb.test"); err != nil {
		t.Fatal(err)
	}
	tc.waitMembers(n)
	return tc
}

// start runs one server: registry, API with the peer endpoint, node.
func (tc *testCluster) start(id string, ec *etcdtest.Cluster) *server {
	t := tc.t
	s := &server{id: id}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.node, err = cluster.New(cluster.Config{Client: ec.Client(t), Prefix: "/test/", ID: id,
		PeerURL: "http://" + ln.Addr().String(), SessionTTL: 2 * time.Second, AskTimeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	st, err := etcdstore.New(etcdstore.Options{Client: ec.Client(t), Prefix: "/test/"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s.store = st
	s.votes = &spiedVotes{Node: s.node, last: map[record.Key]vote{}}
	s.reg = registry.New(st, registry.Options{Now: tc.clock.Now, Manual: true, LeaseGrace: time.Hour, Checks: tc.cfg.checks,
		Registerer: prometheus.NewRegistry(), Peers: s.node, Votes: s.votes, Served: s.node})
	peer := s.node.Handler()
	cuttable := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.refuse.Load() {
			http.Error(w, "cut", http.StatusServiceUnavailable)
			return
		}
		peer.ServeHTTP(w, r)
	})
	srv := api.New(api.Config{Registry: s.reg, Listener: ln, Tokens: readToken(t), Sync: s.node, Extra: map[string]http.Handler{
		cluster.RenewalsRoute: cuttable,
		cluster.AppliedRoute:  cuttable,
		api.ChangesRoute:      api.ChangeStatus(s.reg, s.node),
		cluster.StatusRoute:   s.node.StatusHandler(s.reg.LapsesWaiting),
	}})
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	nctx, leave := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, run := range []func() error{
		func() error { return st.Run(ctx) }, // probes etcd, as serve runs it
		func() error { return s.reg.Run(ctx) },
		func() error { return srv.Run(ctx) },
		func() error { <-s.reg.Ready(); return s.node.Run(nctx, s.reg) },
	} {
		wg.Go(func() {
			if err := run(); err != nil {
				t.Errorf("server %s: %v", id, err)
			}
		})
	}
	var once sync.Once
	s.stop = func() { once.Do(func() { leave() }) }
	t.Cleanup(func() { cancel(); wg.Wait() })
	<-s.reg.Ready()
	return s
}

// waitFor polls cond (etcd elections and watches give no notification
// this test can hold) for up to 10 s.
func (tc *testCluster) waitFor(what string, cond func() bool) {
	tc.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tc.t.Fatalf("waited 10s for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitMembers waits until every running server lists n members and one
// of them leads.
func (tc *testCluster) waitMembers(n int) {
	tc.t.Helper()
	tc.waitFor(fmt.Sprintf("%d members and a leader", n), func() bool {
		leaders := 0
		if len(tc.live()) != n {
			return false
		}
		for _, s := range tc.live() {
			if len(s.node.Members()) != n {
				return false
			}
			if s.node.Leading() {
				leaders++
			}
		}
		return leaders == 1
	})
}

// live are the servers still in the cluster.
func (tc *testCluster) live() []*server {
	var out []*server
	for _, s := range tc.servers {
		if len(s.node.Members()) > 0 {
			out = append(out, s)
		}
	}
	return out
}

func (tc *testCluster) leader() *server {
	for _, s := range tc.servers {
		if s.node.Leading() {
			return s
		}
	}
	tc.t.Fatal("no leader")
	return nil
}

// followers are the live servers but the leader.
func (tc *testCluster) followers() []*server {
	var out []*server
	for _, s := range tc.live() {
		if !s.node.Leading() {
			out = append(out, s)
		}
	}
	return out
}

func key(id string) record.Key {
	return record.Key{Zone: "lb.test.", Name: "www.lb.test.", Type: record.A, SetID: id}
}

func (tc *testCluster) register(id string) {
	tc.t.Helper()
	set := record.Set{Key: record.Key{Name: "www", Type: record.A, SetID: id}, Weight: 10, TTL: 60,
		Values: []string{"127.0.1.1"}, Lease: record.Duration(15 * time.Second)}
	if _, err := tc.servers[0].reg.Apply(context.Background(), "lb.test", []registry.Change{{Action: registry.Upsert, Set: set}}); err != nil {
		tc.t.Fatal(err)
	}
	tc.sync()
}

func (tc *testCluster) renew(s *server, id string) {
	tc.t.Helper()
	if _, err := s.reg.Renew(context.Background(), key(id), nil); err != nil {
		tc.t.Fatalf("renew %s through %s: %v", id, s.id, err)
	}
}

// round advances the clock and runs every server's lifecycle; then every
// server has applied what was written.
func (tc *testCluster) round(d time.Duration) {
	tc.t.Helper()
	tc.clock.advance(d)
	for _, s := range tc.servers {
		if err := s.reg.Tick(context.Background()); err != nil {
			tc.t.Fatal(err)
		}
	}
	tc.sync()
}

// sync waits until every server published the store's revision (twice:
// a lapse seen may be cleared by a server that heard the agent).
func (tc *testCluster) sync() {
	tc.t.Helper()
	for range 2 {
		rev := tc.storeRev()
		tc.waitFor(fmt.Sprintf("revision %d everywhere", rev), func() bool {
			for _, s := range tc.servers {
				if s.reg.Applied() < rev {
					return false
				}
			}
			return true
		})
		for _, s := range tc.servers {
			if err := s.reg.Tick(context.Background()); err != nil {
				tc.t.Fatal(err)
			}
		}
	}
}

// storeRev is the revision of the store's last write: the mod revision
// of etcdstore's log key (etcd's own revision also counts the cluster's
// membership writes, which no registry applies).
func (tc *testCluster) storeRev() int64 {
	resp, err := tc.etcd.Get(context.Background(), "/test/log")
	if err != nil {
		tc.t.Fatal(err)
	}
	if len(resp.Kvs) == 0 {
		return 0
	}
	return resp.Kvs[0].ModRevision
}

func (tc *testCluster) etcdRev() int64 {
	resp, err := tc.etcd.Get(context.Background(), "/test/none")
	if err != nil {
		tc.t.Fatal(err)
	}
	return resp.Header.Revision
}

// want checks that set id is in state want ("active+" when in answers,
// "expired") on every server.
func (tc *testCluster) want(id, want string) {
	tc.t.Helper()
	for _, s := range tc.servers {
		sets, err := s.reg.Sets(context.Background(), "lb.test", registry.Filter{Name: "www", Type: "A", SetID: id})
		if err != nil {
			tc.t.Fatal(err)
		}
		got := "gone"
		if len(sets) == 1 {
			st := s.reg.Statuses(sets)[0]
			got = st.State
			if st.Eligible {
				got += "+"
			}
		}
		if got != want {
			tc.t.Fatalf("set %s on %s: %s, want %s", id, s.id, got, want)
		}
	}
}

// TestRenewalsThroughOneServerKeepTheSetEverywhere: three servers on real
// etcd; an agent renews through one follower only, the leader and the
// other follower never hear it: the set stays in every server's answers
// for a minute, with no write to the store and none to etcd; a set nobody
// renews lapses once and leaves all three.
func TestRenewalsThroughOneServerKeepTheSetEverywhere(t *testing.T) {
	tc := startCluster(t, 3)
	tc.register("a")
	tc.register("dead")
	via := tc.followers()[0]
	rev := tc.etcdRev()
	for range 12 {
		tc.renew(via, "a")
		tc.round(5 * time.Second)
	}
	tc.want("a", "active+")
	tc.want("dead", "expired")
	// Two writes: the lapse, then its history entry (written once, by the
	// leader, after the lapse: the followers only follow it).
	tc.waitFor("the lapse and its history entry in etcd", func() bool { return tc.etcdRev() >= rev+2 })
	time.Sleep(100 * time.Millisecond) // a follower's own entry would land by now
	if got := tc.etcdRev(); got != rev+2 {
		t.Errorf("etcd revision went from %d to %d in a minute of renewals; want two writes (the lapse of dead, its history entry)", rev, got)
	}
}

// TestLapseWaitsForAServerThatDoesNotAnswer: a live server cut from the
// leader's question might hear the agent: the set stays everywhere until
// it answers, then lapses.
func TestLapseWaitsForAServerThatDoesNotAnswer(t *testing.T) {
	tc := startCluster(t, 3)
	tc.register("a")
	cut := tc.followers()[0]
	cut.refuse.Store(true)
	for range 6 {
		tc.round(5 * time.Second)
	}
	tc.want("a", "active+")
	n, err := tc.leader().reg.LapsesWaiting()
	if n != 1 || err == nil {
		t.Fatalf("lapses waiting on the leader: %d, %v; want 1 naming %s", n, err, cut.id)
	}
	want := fmt.Sprintf("member %s (%s) answered 503 Service Unavailable: cut", cut.id, cut.node.Members()[0].URL)
	for _, m := range cut.node.Members() {
		if m.ID == cut.id {
			want = fmt.Sprintf("member %s (%s) answered 503 Service Unavailable: cut", cut.id, m.URL)
		}
	}
	if err.Error() != want {
		t.Errorf("why the lapse waits: %q, want %q", err, want)
	}
	var st cluster.Status
	tc.get(tc.leader(), "/v1/cluster", &st)
	if st.Leader != tc.leader().id || !st.Leading || len(st.Members) != 3 || st.LapsesWaiting != 1 || st.LapsesWaitingReason != want {
		t.Errorf("GET /v1/cluster on the leader: %+v", st)
	}
	cut.refuse.Store(false)
	tc.round(time.Second)
	tc.want("a", "expired")
}

// TestLeaderKilledAnotherTakesOver: the leader leaves; another server is
// elected, starts every lease afresh (nothing renewed through the old
// leader lapses), and then lapses only what nobody renews.
func TestLeaderKilledAnotherTakesOver(t *testing.T) {
	tc := startCluster(t, 3)
	for _, id := range []string{"a", "b", "c"} {
		tc.register(id)
	}
	old := tc.leader()
	for range 3 { // every agent renews through the leader
		for _, id := range []string{"a", "b", "c"} {
			tc.renew(old, id)
		}
		tc.round(5 * time.Second)
	}
	old.stop()
	tc.waitMembers(2)
	tc.round(5 * time.Second) // the agents have not failed over yet; nobody alive heard them for 10s
	tc.want("a", "active+")
	tc.want("b", "active+")
	tc.want("c", "active+")
	via := tc.followers()[0] // agents a and b fail over to it; c's instance is gone
	for range 2 {
		tc.renew(via, "a")
		tc.renew(via, "b")
		tc.round(5 * time.Second)
	}
	tc.want("a", "active+")
	tc.want("b", "active+")
	tc.want("c", "expired") // a lease after the new leader's election
}

// TestPeerEndpointRefusesUnsigned: the peer endpoint takes only requests
// signed with the cluster secret.
func TestPeerEndpointRefusesUnsigned(t *testing.T) {
	tc := startCluster(t, 1)
	url := tc.servers[0].node.Members()[0].URL + "/v1/cluster/renewals"
	for _, auth := range []string{"", "1800000000 00", fmt.Sprintf("%d %x", time.Now().Unix(), make([]byte, 32))} {
		req, _ := http.NewRequest(http.MethodPost, url, nil)
		req.Header.Set("Content-Type", "application/json")
		if auth != "" {
			req.Header.Set(cluster.AuthHeader, auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("auth %q: %s, want 401", auth, resp.Status)
		}
	}
}

// readToken is a tokens file with a read token, "ro", and an admin one,
// "ops".
func readToken(t testing.TB) *auth.Keeper {
	ts, err := auth.Parse([]byte("ro read " + auth.Hash("ro") + "\nops admin " + auth.Hash("ops") + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	return auth.Static(ts)
}

// changeStatus asks server s's API about revision rev.
func (tc *testCluster) changeStatus(s *server, rev int64) client.ChangeStatus {
	tc.t.Helper()
	var st client.ChangeStatus
	tc.get(s, fmt.Sprintf("/v1/changes/%d", rev), &st)
	return st
}

// get reads path from server s's API, with a read token, into out.
func (tc *testCluster) get(s *server, path string, out any) {
	tc.t.Helper()
	var url string
	for _, m := range s.node.Members() {
		if m.ID == s.id {
			url = m.URL + path
		}
	}
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer ro")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tc.t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil || resp.StatusCode != http.StatusOK {
		tc.t.Fatalf("GET %s: %s, %v", url, resp.Status, err)
	}
}

// TestChangePendingUntilEveryLiveServerHasIt: a change is PENDING while a
// live server has not said it carries it, then INSYNC; a server that left
// the cluster no longer counts.
func TestChangePendingUntilEveryLiveServerHasIt(t *testing.T) {
	tc := startCluster(t, 3)
	tc.register("a")
	rev := tc.storeRev()
	cut := tc.servers[2]
	cut.refuse.Store(true)
	st := tc.changeStatus(tc.servers[0], rev)
	want := client.ChangeStatus{Revision: rev, Status: "PENDING", Applied: 2, Live: 3, PendingOn: []string{cut.id}}
	if diff := cmp.Diff(want, st); diff != "" {
		t.Errorf("with %s silent (-want +got):\n%s", cut.id, diff)
	}
	cut.refuse.Store(false)
	want = client.ChangeStatus{Revision: rev, Status: "INSYNC", Applied: 3, Live: 3}
	if diff := cmp.Diff(want, tc.changeStatus(tc.servers[1], rev)); diff != "" {
		t.Errorf("every server answering (-want +got):\n%s", diff)
	}
	cut.refuse.Store(true)
	cut.stop()
	tc.waitMembers(2)
	want = client.ChangeStatus{Revision: rev, Status: "INSYNC", Applied: 2, Live: 2}
	if diff := cmp.Diff(want, tc.changeStatus(tc.servers[0], rev)); diff != "" {
		t.Errorf("after %s left (-want +got):\n%s", cut.id, diff)
	}
}

// TestWriteSaysOnHowManyServers: a write's answer says on how many of
// the live servers it is applied.
func TestWriteSaysOnHowManyServers(t *testing.T) {
	tc := startCluster(t, 3)
	tc.servers[2].refuse.Store(true) // its answer cannot count
	url := tc.servers[0].node.Members()[0].URL
	for _, m := range tc.servers[0].node.Members() {
		if m.ID == tc.servers[0].id {
			url = m.URL
		}
	}
	body := `{"name":"www","type":"A","set_id":"i-a","weight":10,"ttl":60,"values":["127.0.1.1"]}`
	req, _ := http.NewRequest(http.MethodPut, url+"/v1/zones/lb.test/rrsets", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer ops")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var res client.SetResult
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT: %s, %v", resp.Status, err)
	}
	if res.Servers == nil || res.Servers.Live != 3 || res.Servers.Applied < 1 || res.Servers.Applied > 2 {
		t.Fatalf("servers in the answer: %+v; want 1 or 2 applied of 3 live (server 2 does not answer)", res.Servers)
	}
}

// TestEtcdGoneAndBack: with etcd away, every server answers from its last
// state, refuses renewals and lapses nothing, however long; when etcd is
// back, nothing lapses at once either: sets renewed again stay, and only
// the one nobody renews leaves, a lease later.
func TestEtcdGoneAndBack(t *testing.T) {
	tc := startCluster(t, 3)
	tc.register("a")
	tc.register("b")
	via := tc.followers()[0]
	for range 3 {
		tc.renew(via, "a")
		tc.renew(via, "b")
		tc.round(5 * time.Second)
	}
	tc.ec.Members()[0].Stop()
	tc.waitFor("every server to see etcd gone", func() bool {
		for _, s := range tc.servers {
			if s.store.(store.Availability).Unavailable() == nil {
				return false
			}
		}
		return true
	})
	if _, err := via.reg.Renew(context.Background(), key("a"), nil); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("renewal while etcd is away: %v, want unavailable", err)
	}
	for range 12 { // a minute without etcd
		tc.clock.advance(5 * time.Second)
		for _, s := range tc.servers {
			if err := s.reg.Tick(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
	}
	tc.wantAnswered("a")
	tc.wantAnswered("b")
	if err := tc.ec.Members()[0].Restart(); err != nil {
		t.Fatal(err)
	}
	tc.waitFor("every server to see etcd back", func() bool {
		for _, s := range tc.servers {
			if s.store.(store.Availability).Unavailable() != nil {
				return false
			}
		}
		return true
	})
	tc.waitMembers(3)
	tc.round(time.Second)
	tc.want("a", "active+")
	tc.want("b", "active+")
	for range 4 { // a's agent renews again; b's is gone
		tc.renew(tc.followers()[0], "a")
		tc.round(5 * time.Second)
	}
	tc.want("a", "active+")
	tc.want("b", "expired")
}

// wantAnswered checks that every server answers with set id, reading the
// snapshot its DNS server answers from (the store may be away).
func (tc *testCluster) wantAnswered(id string) {
	tc.t.Helper()
	for _, s := range tc.servers {
		g, ok := s.reg.Load().Group(key(id))
		found := false
		for i, set := range g.Sets {
			if set.Key.SetID == id && g.Shares[i] > 0 {
				found = true
			}
		}
		if !ok || !found {
			tc.t.Fatalf("set %s on %s: not in answers (group %v)", id, s.id, g)
		}
	}
}
