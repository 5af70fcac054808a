package cluster_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/dnslb/dnslb/internal/cluster"
	"github.com/dnslb/dnslb/internal/etcdtest"
	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/registry"
)

// verdicts is a cluster.Local that records the verdicts it is given.
type verdicts struct {
	mu sync.Mutex
	by map[record.Key]string
}

func (v *verdicts) SetLeading(bool)                     {}
func (v *verdicts) Heard(keys []record.Key) []time.Time { return make([]time.Time, len(keys)) }
func (v *verdicts) Applied() int64                      { return 0 }
func (v *verdicts) SetVerdict(k record.Key, vd *registry.Verdict) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if vd == nil {
		delete(v.by, k)
		return
	}
	v.by[k] = vd.String()
}

func (v *verdicts) of(k record.Key) string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.by[k]
}

// observers starts n nodes on one etcd with quorum q, each with a
// recording Local; stop[i] ends node i (its session, and its votes).
func observers(t *testing.T, n int, q float64) (nodes []*cluster.Node, locals []*verdicts, stop []func()) {
	ec := etcdtest.Start(t, 1)
	for i := range n {
		node, err := cluster.New(cluster.Config{Client: ec.Client(t), Prefix: "/q/", ID: fmt.Sprintf("s%d", i),
			PeerURL: "http://127.0.0.1:9", SessionTTL: 2 * time.Second, HealthQuorum: q})
		if err != nil {
			t.Fatal(err)
		}
		local := &verdicts{by: map[record.Key]string{}}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); _ = node.Run(ctx, local) }()
		var once sync.Once
		stopOne := func() { once.Do(func() { cancel(); <-done }) }
		t.Cleanup(stopOne)
		nodes, locals, stop = append(nodes, node), append(locals, local), append(stop, stopOne)
	}
	return nodes, locals, stop
}

// waitVerdict waits until every local in locals holds want for k.
func waitVerdict(t *testing.T, locals []*verdicts, k record.Key, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ok := true
		for _, l := range locals {
			ok = ok && l.of(k) == want
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			var got []string
			for _, l := range locals {
				got = append(got, l.of(k))
			}
			t.Fatalf("verdicts of %s: %q, want %q everywhere", k, got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestQuorumHealth: two of three observers say down: down with a
// majority quorum, up with Route 53's 0.18; an observer that leaves takes
// its vote with it; a withdrawn vote counts no more.
func TestQuorumHealth(t *testing.T) {
	k := key("a")
	for _, c := range []struct {
		quorum           float64
		want, afterLeave string
	}{
		{0, "down (1 of 3 servers say up)", "down (0 of 2 servers say up)"},
		{0.18, "up (1 of 3 servers say up)", "down (0 of 2 servers say up)"},
	} {
		t.Run(fmt.Sprint(c.quorum), func(t *testing.T) {
			nodes, locals, stop := observers(t, 3, c.quorum)
			nodes[0].Vote(k, true)
			nodes[1].Vote(k, false)
			nodes[2].Vote(k, false)
			waitVerdict(t, locals, k, c.want)
			stop[0]() // the one saying up leaves
			waitVerdict(t, locals[1:], k, c.afterLeave)
			nodes[1].Withdraw(k)
			nodes[2].Vote(k, true)
			waitVerdict(t, locals[1:], k, "up (1 of 1 servers say up)")
			nodes[2].Withdraw(k)
			waitVerdict(t, locals[1:], k, "")
		})
	}
}

// TestHealthQuorumRefused: a quorum outside [0, 1) is refused with what
// to give.
func TestHealthQuorumRefused(t *testing.T) {
	_, err := cluster.New(cluster.Config{Client: etcdtest.Start(t, 1).Client(t), ID: "s0", PeerURL: "http://127.0.0.1:9", HealthQuorum: 1})
	want := "health quorum 1: give the share of live servers that must say up, above 0 and below 1: 0.5 (a majority, the default) or 0.18 (Route 53's rule)"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %s", err, want)
	}
}

// TestDrainReports: a drain's safe moment is the latest report of the
// live servers, known once each of them reported on that drain; a dead
// server's report vanishes with it.
func TestDrainReports(t *testing.T) {
	nodes, _, stop := observers(t, 3, 0)
	k := key("a")
	started := time.Unix(1_800_000_000, 0)
	t1, t2 := started.Add(40*time.Second), started.Add(55*time.Second)
	waitHeld := func(what string, from []*cluster.Node, wantUntil time.Time, wantAll bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			ok := true
			for _, n := range from {
				until, all := n.Held(k, started)
				ok = ok && until.Equal(wantUntil) && all == wantAll
			}
			if ok {
				return
			}
			if time.Now().After(deadline) {
				until, all := from[0].Held(k, started)
				t.Fatalf("%s: Held = %v, %v; want %v, %v", what, until, all, wantUntil, wantAll)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	for _, n := range nodes { // every node lists every member
		for len(n.Members()) != 3 {
			time.Sleep(10 * time.Millisecond)
		}
	}
	nodes[0].Report(k, started, t1)
	nodes[1].Report(k, started, time.Time{})        // never served it
	nodes[2].Report(k, started.Add(-time.Hour), t2) // an earlier drain's report
	waitHeld("server 2 not reported on this drain", nodes, t1, false)
	nodes[2].Report(k, started, t2)
	waitHeld("every server reported", nodes, t2, true)
	stop[2]()
	waitHeld("server 2 gone", nodes[:2], t1, true)
	nodes[0].Forget(k)
	waitHeld("server 0 forgot", nodes[:2], time.Time{}, false)
}

// TestSameIDWaits: a second server with a live member's id takes no part
// until that member leaves.
func TestSameIDWaits(t *testing.T) {
	ec := etcdtest.Start(t, 1)
	start := func(url string) (*cluster.Node, func()) {
		node, err := cluster.New(cluster.Config{Client: ec.Client(t), Prefix: "/same/", ID: "ns1", PeerURL: url, SessionTTL: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); _ = node.Run(ctx, &verdicts{by: map[record.Key]string{}}) }()
		var once sync.Once
		stop := func() { once.Do(func() { cancel(); <-done }) }
		t.Cleanup(stop)
		return node, stop
	}
	memberURL := func(n *cluster.Node) string {
		if ms := n.Members(); len(ms) == 1 {
			return ms[0].URL
		}
		return ""
	}
	first, stopFirst := start("http://127.0.0.1:1")
	waitUntil(t, "the first server joined", func() bool { return memberURL(first) == "http://127.0.0.1:1" && first.Leading() })
	second, _ := start("http://127.0.0.1:2")
	waitUntil(t, "the second server sees the first", func() bool { return memberURL(second) == "http://127.0.0.1:1" })
	if second.Leading() {
		t.Fatal("the second server with the same id leads")
	}
	stopFirst()
	waitUntil(t, "the second server joined once the first left", func() bool { return memberURL(second) == "http://127.0.0.1:2" && second.Leading() })
}

func waitUntil(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 10s for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
