// Package etcdtest starts real etcd clusters on loopback for tests: members
// embedded in the test process (go.etcd.io/etcd/server/v3/embed), or
// members run as processes of Debian's etcd binary when a test needs to
// kill or freeze one (SIGKILL, SIGSTOP).
//
// Each cluster gets its own random loopback address per member
// (127.R.R.N) and etcd's usual ports on it, so that the members can name
// each other before they start (etcd's initial cluster needs every peer
// address up front; port 0 cannot give that). A start that meets an
// address in use picks another one.
//
// Only tests import this package; the dnslb binary never links the etcd
// server.
package etcdtest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// Cluster is a running etcd cluster of embedded members.
type Cluster struct {
	t       testing.TB
	mu      sync.Mutex
	members []*Member
}

// Member is one embedded etcd member.
type Member struct {
	Name      string
	ClientURL string // http://127.R.R.N:2379
	PeerURL   string
	dir       string
	mu        sync.Mutex
	etcd      *embed.Etcd // nil while stopped
	cluster   string      // initial-cluster, to restart with
}

// Start starts an embedded cluster of n members (1 or 3 in practice) and
// stops it when the test ends. It fails the test when the cluster does not
// elect a leader within 20 s.
func Start(t testing.TB, n int) *Cluster {
	t.Helper()
	var lastErr error
	for range 5 {
		c, err := start(t, n)
		if err == nil {
			t.Cleanup(c.Close)
			return c
		}
		lastErr = err
		if !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	t.Fatalf("etcdtest: start %d members: %v", n, lastErr)
	return nil
}

func start(t testing.TB, n int) (*Cluster, error) {
	base := fmt.Sprintf("127.%d.%d.", 1+rand.IntN(250), 1+rand.IntN(250))
	c := &Cluster{t: t}
	var peers []string
	for i := range n {
		host := fmt.Sprintf("%s%d", base, i+1)
		m := &Member{
			Name:      fmt.Sprintf("m%d", i+1),
			ClientURL: "http://" + host + ":2379",
			PeerURL:   "http://" + host + ":2380",
			dir:       t.TempDir(),
		}
		c.members = append(c.members, m)
		peers = append(peers, m.Name+"="+m.PeerURL)
	}
	initial := strings.Join(peers, ",")
	errs := make(chan error, n)
	for _, m := range c.members {
		m.cluster = initial
		go func() { errs <- m.start("new") }()
	}
	var firstErr error
	for range n {
		if err := <-errs; err != nil && firstErr == nil {
			firstErr = err
		}
	}
	if firstErr != nil {
		c.Close()
		return nil, firstErr
	}
	for _, m := range c.members {
		select {
		case <-m.etcd.Server.ReadyNotify():
		case <-time.After(20 * time.Second):
			c.Close()
			return nil, fmt.Errorf("member %s not ready after 20s", m.Name)
		}
	}
	return c, nil
}

func (m *Member) start(state string) error {
	cfg := embed.NewConfig()
	cfg.Name = m.Name
	cfg.Dir = m.dir
	cu, _ := url.Parse(m.ClientURL)
	pu, _ := url.Parse(m.PeerURL)
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{*cu}, []url.URL{*cu}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{*pu}, []url.URL{*pu}
	cfg.InitialCluster = m.cluster
	cfg.InitialClusterToken = "dnslb-test"
	cfg.ClusterState = state
	cfg.LogLevel = "error"
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	// Short heartbeats make elections (after a member is stopped) quick.
	cfg.TickMs = 20
	cfg.ElectionMs = 200
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return fmt.Errorf("member %s: %w", m.Name, err)
	}
	m.mu.Lock()
	m.etcd = e
	m.mu.Unlock()
	return nil
}

// Members returns the members in start order.
func (c *Cluster) Members() []*Member { return c.members }

// Endpoints returns every member's client URL.
func (c *Cluster) Endpoints() []string {
	var eps []string
	for _, m := range c.members {
		eps = append(eps, m.ClientURL)
	}
	return eps
}

// Client returns a client of the whole cluster, closed when the test ends.
func (c *Cluster) Client(t testing.TB) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   c.Endpoints(),
		DialTimeout: 5 * time.Second,
		Logger:      zap.NewNop(),
	})
	if err != nil {
		t.Fatalf("etcdtest: client: %v", err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// Leader returns the member that leads now, or nil during an election.
func (c *Cluster) Leader() *Member {
	for _, m := range c.members {
		m.mu.Lock()
		e := m.etcd
		m.mu.Unlock()
		if e != nil && e.Server.Leader() == e.Server.MemberID() {
			return m
		}
	}
	return nil
}

// WaitLeader waits until some member leads, up to 10 s.
func (c *Cluster) WaitLeader(ctx context.Context) (*Member, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for {
		if l := c.Leader(); l != nil {
			return l, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("etcdtest: no leader: %w", ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// Stop stops member m abruptly for its peers (its listeners close); its
// data stays, so Restart brings it back.
func (m *Member) Stop() {
	m.mu.Lock()
	e := m.etcd
	m.etcd = nil
	m.mu.Unlock()
	if e == nil {
		return
	}
	select {
	case <-e.Server.ReadyNotify():
		e.Close()
	case <-time.After(5 * time.Second):
		// embed.Etcd.Close waits for its client servers, which start only
		// once the member is ready: one restarted while its peers were
		// stopping never is, and Close would wait for ever. Stop the
		// server and close its listeners instead.
		e.Server.HardStop()
		for _, p := range e.Peers {
			p.Close()
		}
		for _, l := range e.Clients {
			l.Close()
		}
	}
}

// Restart starts a stopped member again on its data directory.
func (m *Member) Restart() error {
	m.Stop()
	return m.start("existing")
}

// Close stops every member.
func (c *Cluster) Close() {
	var wg sync.WaitGroup
	for _, m := range c.members {
		wg.Go(m.Stop)
	}
	wg.Wait()
}
