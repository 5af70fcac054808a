package cluster_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/dnslb/dnslb/internal/dnsserver"
	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/registry"
)

// registerMany registers n leased sets www-N through server 0, 100 to a
// transaction (under etcd's default --max-txn-ops of 128).
func (tc *testCluster) registerMany(n int) []record.Key {
	tc.t.Helper()
	var keys []record.Key
	for i := 0; i < n; i += 100 {
		var changes []registry.Change
		for j := i; j < min(i+100, n); j++ {
			set := record.Set{Key: record.Key{Name: fmt.Sprintf("n%d", j/100), Type: record.A, SetID: fmt.Sprintf("i-%d", j)},
				Weight: 10, TTL: 60, Values: []string{"127.0.1.1"}, Lease: record.Duration(15 * time.Second)}
			changes = append(changes, registry.Change{Action: registry.Upsert, Set: set})
			keys = append(keys, record.Key{Zone: "lb.test.", Name: set.Name + ".lb.test.", Type: record.A, SetID: set.SetID})
		}
		if _, err := tc.servers[0].reg.Apply(context.Background(), "lb.test", changes); err != nil {
			tc.t.Fatal(err)
		}
	}
	tc.sync()
	return keys
}

// BenchmarkSteadyRenewals10k: 10,000 leased sets (15 s leases) renewing
// every 5 s, each agent through one of three servers, for a minute of
// (fake) time: the etcd writes a second this costs in steady state (the
// target is 0), and the wall time the servers spend per 5 s round.
func BenchmarkSteadyRenewals10k(b *testing.B) {
	tc := startCluster(b, 3)
	keys := tc.registerMany(10_000)
	ctx := context.Background()
	rev := tc.etcdRev()
	var spent time.Duration
	b.ResetTimer()
	for range b.N {
		for range 12 {
			start := time.Now()
			for i, k := range keys {
				if _, err := tc.servers[i%3].reg.Renew(ctx, k, nil); err != nil {
					b.Fatal(err)
				}
			}
			tc.round(5 * time.Second)
			spent += time.Since(start)
		}
	}
	b.StopTimer()
	writes := tc.etcdRev() - rev
	b.ReportMetric(float64(writes)/(60*float64(b.N)), "etcd-writes/s")
	b.ReportMetric(float64(spent.Milliseconds())/(12*float64(b.N)), "ms/round")
	for _, s := range tc.servers {
		if n, err := s.reg.LapsesWaiting(); n > 0 {
			b.Errorf("%s: %d lapses waiting: %v", s.id, n, err)
		}
	}
	if writes != 0 {
		b.Errorf("%d etcd writes in steady state", writes)
	}
}

// etcdSizes are the embedded etcd clusters the propagation benchmarks
// run on: one member, and a real 3-member raft (a write commits once a
// majority has it; each server's client may talk to any member).
var etcdSizes = []int{1, 3}

// BenchmarkPropagation: a write through server 0 (answered once server
// 0's answers carry it) until the answers of servers 1 and 2 carry it
// (their published snapshot, which DNS answers from): p50 and p99, on a
// 1-member and on a 3-member etcd.
func BenchmarkPropagation(b *testing.B) {
	for _, n := range etcdSizes {
		b.Run(fmt.Sprintf("etcd=%d", n), func(b *testing.B) { benchPropagation(b, n) })
	}
}

func benchPropagation(b *testing.B, etcdMembers int) {
	tc := startCluster(b, 3, withEtcdMembers(etcdMembers))
	var lat []time.Duration
	b.ResetTimer()
	for i := range b.N {
		set := record.Set{Key: record.Key{Name: "www", Type: record.A, SetID: "i-p"}, Weight: 10, TTL: 60,
			Values: []string{fmt.Sprintf("127.0.%d.%d", 2+i/250%250, 1+i%250)}}
		start := time.Now()
		rev, err := tc.servers[0].reg.Apply(context.Background(), "lb.test", []registry.Change{{Action: registry.Upsert, Set: set}})
		if err != nil {
			b.Fatal(err)
		}
		for _, s := range tc.servers[1:] {
			for s.reg.Applied() < rev {
				time.Sleep(20 * time.Microsecond)
			}
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// BenchmarkLapsePropagation (at most -benchtime 99x: a name holds 100
// weighted sets, lapsed ones included): from the leader's pass that finds a lease
// due (it asks the other two servers, writes the lapse) until the answers
// of all three servers carry it: p50 and p99, on a 1-member and on a
// 3-member etcd.
func BenchmarkLapsePropagation(b *testing.B) {
	for _, n := range etcdSizes {
		b.Run(fmt.Sprintf("etcd=%d", n), func(b *testing.B) { benchLapsePropagation(b, n) })
	}
}

func benchLapsePropagation(b *testing.B, etcdMembers int) {
	tc := startCluster(b, 3, withEtcdMembers(etcdMembers))
	leader := tc.leader()
	var lat []time.Duration
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		id := fmt.Sprintf("i-%d", i)
		tc.register(id)
		tc.clock.advance(16 * time.Second)
		b.StartTimer()
		start := time.Now()
		if err := leader.reg.Tick(context.Background()); err != nil { // asks, decides, writes
			b.Fatal(err)
		}
		rev := tc.storeRev()
		for _, s := range tc.servers {
			for s.reg.Applied() < rev {
				time.Sleep(20 * time.Microsecond)
			}
		}
		lat = append(lat, time.Since(start))
		b.StopTimer()
		tc.want(id, "expired")
		b.StartTimer()
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// backend is a loopback HTTP server a health check probes: 200, or 503
// while not healthy.
type backend struct {
	srv     *httptest.Server
	healthy atomic.Bool
}

func newBackend(t testing.TB) *backend {
	be := &backend{}
	be.healthy.Store(true)
	be.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if !be.healthy.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(be.srv.Close)
	return be
}

// answering reports whether every server's published snapshot (what DNS
// answers from) gives set k a share (up) or none (!up).
func (tc *testCluster) answering(k record.Key, up bool) bool {
	for _, s := range tc.servers {
		in := false
		if g, ok := s.reg.Load().Group(k); ok {
			for i, set := range g.Sets {
				in = in || set.Key.SetID == k.SetID && g.Shares[i] > 0
			}
		}
		if in != up {
			return false
		}
	}
	return true
}

// BenchmarkHealthPropagation (-benchtime 100x or more; each iteration is
// two transitions, out of answers and back): a set with a real
// server-side HTTP check (interval 100 ms, timeout 50 ms, rise 1, fall 1)
// of a loopback backend that every server probes on its own checker, and
// an unchecked set beside it. The backend flips to 503 (then back to
// 200); each server's checker sees it at its next probe and votes (a
// write of its verdict to etcd); the majority verdict takes the set out
// of (puts it back into) every server's answers. Reported:
//   - p50-ms, p99-ms: from the moment the quorum-deciding vote (the
//     second of the three servers to vote the new state) is handed to its
//     node until all three servers' published snapshots carry the new
//     state: the vote's etcd write, the watches, the tally, the
//     snapshot builds;
//   - flip-p50-ms, flip-p99-ms: from the backend's flip to the same end:
//     adds the wait for the probes (up to an interval, by each checker's
//     phase), the probe itself, and the first vote.
//
// On a 1-member and on a 3-member etcd.
func BenchmarkHealthPropagation(b *testing.B) {
	for _, n := range etcdSizes {
		b.Run(fmt.Sprintf("etcd=%d", n), func(b *testing.B) { benchHealthPropagation(b, n) })
	}
}

func benchHealthPropagation(b *testing.B, etcdMembers int) {
	tc := startCluster(b, 3, withLoopbackChecks(), withEtcdMembers(etcdMembers))
	be := newBackend(b)
	u, err := url.Parse(be.srv.URL)
	if err != nil {
		b.Fatal(err)
	}
	checked := record.Set{Key: record.Key{Name: "www", Type: record.A, SetID: "hc"}, Weight: 10, TTL: 60,
		Values: []string{u.Hostname()}, Check: &record.Check{Target: be.srv.URL + "/health",
			Interval: record.Duration(100 * time.Millisecond), Timeout: record.Duration(50 * time.Millisecond), Rise: 1, Fall: 1}}
	other := record.Set{Key: record.Key{Name: "www", Type: record.A, SetID: "other"}, Weight: 10, TTL: 60,
		Values: []string{"127.0.1.2"}}
	if _, err := tc.servers[0].reg.Apply(context.Background(), "lb.test", []registry.Change{
		{Action: registry.Upsert, Set: checked}, {Action: registry.Upsert, Set: other}}); err != nil {
		b.Fatal(err)
	}
	tc.sync()
	k := key("hc")
	voted := func(up bool, after time.Time) []time.Time {
		var at []time.Time
		for _, s := range tc.servers {
			if v, ok := s.votes.lastVote(k); ok && v.up == up && !v.at.Before(after) {
				at = append(at, v.at)
			}
		}
		slices.SortFunc(at, time.Time.Compare)
		return at
	}
	tc.waitFor("every server votes up and answers with the set", func() bool {
		return len(voted(true, time.Time{})) == 3 && tc.answering(k, true)
	})
	var lat, flipLat []time.Duration
	b.ResetTimer()
	for range b.N {
		for _, up := range []bool{false, true} {
			// the checkers probe every 100 ms on their own phases: flip at
			// a random point of that, not right after the last vote
			time.Sleep(time.Duration(rand.Int64N(int64(100 * time.Millisecond))))
			flip := time.Now()
			be.healthy.Store(up)
			deadline := flip.Add(10 * time.Second)
			for !tc.answering(k, up) {
				if time.Now().After(deadline) {
					b.Fatalf("answers did not follow the backend (up %v) within 10s", up)
				}
				time.Sleep(20 * time.Microsecond)
			}
			end := time.Now()
			// the third vote comes by the next probe; wait for it, so that
			// the next flip starts from three agreeing servers
			tc.waitFor("all three servers to vote", func() bool { return len(voted(up, flip)) == 3 })
			decided := voted(up, flip)[1]
			lat = append(lat, end.Sub(decided))
			flipLat = append(flipLat, end.Sub(flip))
		}
	}
	b.StopTimer()
	reportPercentiles(b, lat, "")
	reportPercentiles(b, flipLat, "flip-")
}

// reportPercentiles reports the p50 and p99 of lat in milliseconds.
func reportPercentiles(b *testing.B, lat []time.Duration, prefix string) {
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, prefix+"p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, prefix+"p99-ms")
}

// startDNS serves reg's snapshots over DNS on 127.0.0.1 (one UDP loop;
// loopback exempt from response rate limiting) until the test ends, and
// returns the address.
func startDNS(t testing.TB, reg *registry.Registry) string {
	t.Helper()
	rrl := dnsserver.DefaultRRL()
	rrl.Exempt = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	d, err := dnsserver.New(dnsserver.Config{Addr: "127.0.0.1:0", Snapshot: reg, UDPSockets: 1, RRL: &rrl})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("dns: %v", err)
		}
	})
	return d.Addr()
}

// querier asks a DNS server one question per tick (or fewer, when an
// answer takes longer) over one UDP socket, and files each round trip,
// from the write to the read of the answer, under the phase current when
// it was sent.
type querier struct {
	phase atomic.Int32
	mu    sync.Mutex
	rtt   [2][]time.Duration
	late  [2][]time.Duration // how late the client woke for its tick: the process's scheduling delay
	lost  [2]int
	bad   [2]int // answered, but not NOERROR with answers
	stop  chan struct{}
	done  chan struct{}
}

const (
	idlePhase = iota
	renewingPhase
)

func startQuerier(t testing.TB, addr, name string, every time.Duration) *querier {
	t.Helper()
	conn, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	m := new(dns.Msg)
	m.SetQuestion(name, dns.TypeA)
	req, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	q := &querier{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(q.done)
		defer conn.Close()
		resp := make([]byte, 1500)
		tick := time.NewTicker(every)
		defer tick.Stop()
		var due, prevEnd time.Time
		for id := uint16(1); ; id++ {
			select {
			case <-q.stop:
				return
			case due = <-tick.C:
			}
			binary.BigEndian.PutUint16(req, id)
			ph := q.phase.Load()
			start := time.Now()
			late := start.Sub(due)
			if prevEnd.After(due) { // due while the last question was out: not a scheduling delay
				late = start.Sub(prevEnd)
			}
			_ = conn.SetDeadline(start.Add(time.Second))
			_, err := conn.Write(req)
			n := 0
			for err == nil { // skip late answers to earlier (lost) questions
				n, err = conn.Read(resp)
				if err != nil || n >= 12 && binary.BigEndian.Uint16(resp) == id {
					break
				}
			}
			prevEnd = time.Now()
			rtt := prevEnd.Sub(start)
			q.mu.Lock()
			q.late[ph] = append(q.late[ph], late)
			switch {
			case err != nil:
				q.lost[ph]++
			case resp[3]&0x0f != dns.RcodeSuccess || binary.BigEndian.Uint16(resp[6:8]) == 0:
				q.bad[ph]++
			default:
				q.rtt[ph] = append(q.rtt[ph], rtt)
			}
			q.mu.Unlock()
		}
	}()
	t.Cleanup(q.end)
	return q
}

// end stops the querier and waits for it.
func (q *querier) end() {
	select {
	case <-q.stop:
	default:
		close(q.stop)
	}
	<-q.done
}

// BenchmarkSteadyRenewals10kDNS: BenchmarkSteadyRenewals10k's 10,000
// renewals every 5 s for five minutes of fake time (60 rounds), with a
// DNS server (miekg/dns on 127.0.0.1, one UDP loop) answering from
// server 0's registry and a client goroutine in the same process asking
// it for n0.lb.test A (100 leased weighted sets) over UDP once a
// millisecond. Each round (the renewals through the three servers, then
// every server's lifecycle pass) is followed by an idle window as long
// as the round took, in which nothing but the cluster's background
// (etcd, session keepalives, the querier) runs. Reported: the round trip
// (client write to client read, so the client goroutine's own scheduling
// counts) of the questions sent during the rounds (renewing-p50-us,
// renewing-p99-us) and during the idle windows (idle-p50-us,
// idle-p99-us), how many of each, how late the client goroutine woke for
// its tick (renewing-wake-p99-us, idle-wake-p99-us: the delay any
// goroutine of the process, the DNS server's UDP loop too, may meet
// before it runs), the questions lost or answered wrongly (lost), and the
// etcd writes a second (target 0).
func BenchmarkSteadyRenewals10kDNS(b *testing.B) {
	tc := startCluster(b, 3)
	keys := tc.registerMany(10_000)
	ctx := context.Background()
	q := startQuerier(b, startDNS(b, tc.servers[0].reg), "n0.lb.test.", time.Millisecond)
	rev := tc.etcdRev()
	b.ResetTimer()
	for range b.N {
		for range 60 {
			q.phase.Store(renewingPhase)
			start := time.Now()
			for i, k := range keys {
				if _, err := tc.servers[i%3].reg.Renew(ctx, k, nil); err != nil {
					b.Fatal(err)
				}
			}
			tc.round(5 * time.Second)
			spent := time.Since(start)
			q.phase.Store(idlePhase)
			time.Sleep(spent)
		}
	}
	b.StopTimer()
	q.end()
	writes := tc.etcdRev() - rev
	b.ReportMetric(float64(writes)/(300*float64(b.N)), "etcd-writes/s")
	for ph, name := range map[int]string{renewingPhase: "renewing-", idlePhase: "idle-"} {
		lat := q.rtt[ph]
		if len(lat) < 100 {
			b.Fatalf("%d answers %sphase: too few for a p99", len(lat), name)
		}
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1000, name+"p50-us")
		b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1000, name+"p99-us")
		b.ReportMetric(float64(len(lat)), name+"queries")
		late := q.late[ph]
		slices.Sort(late)
		b.ReportMetric(float64(late[len(late)*99/100].Nanoseconds())/1000, name+"wake-p99-us")
	}
	b.ReportMetric(float64(q.lost[0]+q.lost[1]+q.bad[0]+q.bad[1]), "lost")
	if writes != 0 {
		b.Errorf("%d etcd writes in steady state", writes)
	}
}
