package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/registry"
)

// Defaults.
const (
	DefaultSessionTTL = 10 * time.Second // a dead member leaves after this
	DefaultAskTimeout = 2 * time.Second  // a member that does not answer within this makes lapses wait
	DefaultPrefix     = "/dnslb/"
)

// Local is this server's registry as the cluster drives it
// (*registry.Registry).
type Local interface {
	// SetLeading makes the registry the decider of lapses, or a follower.
	SetLeading(bool)
	// Heard returns when this server last heard a renewal of each key.
	Heard(keys []record.Key) []time.Time
	// Applied is the store revision this server's answers carry.
	Applied() int64
	// SetVerdict makes v the cluster's health verdict of set k (nil: none).
	SetVerdict(k record.Key, v *registry.Verdict)
}

// Config configures a Node.
type Config struct {
	Client *clientv3.Client
	// Prefix is the store's etcd prefix (DefaultPrefix when empty); this
	// package's keys are under Prefix + "cluster/".
	Prefix string
	ID     string // this server's id (serve --server-id); required
	// PeerURL is where the others reach this server's API,
	// "http://10.0.0.1:5380"; required by Run (see Advertise).
	PeerURL string
	Logger  *slog.Logger
	HTTP    *http.Client // for the peer endpoint; a client with AskTimeout when nil
	// SessionTTL is how long a member stays listed after its process or
	// network died (DefaultSessionTTL when 0; whole seconds).
	SessionTTL time.Duration
	AskTimeout time.Duration // DefaultAskTimeout when 0
	// HealthQuorum: a set is up when more than this share of the live
	// observers say so (DefaultHealthQuorum when 0; Route 53: 0.18).
	HealthQuorum float64
	Now          func() time.Time
}

// Member is one live server, as listed in etcd.
type Member struct {
	ID      string    `json:"id"`
	URL     string    `json:"url"`
	Started time.Time `json:"started"`
}

// Node is this server's part in the cluster: its membership, its
// campaign for leadership, and the peers it asks. It implements
// registry.Peers. New starts nothing; Run does.
type Node struct {
	cfg     Config
	log     *slog.Logger
	started time.Time
	local   atomic.Pointer[localBox] // set by Run
	secret  atomic.Pointer[[]byte]   // the cluster secret, once read

	mu      sync.Mutex
	members map[string]Member // live members, this one included
	leading bool

	votes  votes  // health verdicts (health.go)
	served served // drain reports (served.go)
}

type localBox struct{ Local }

// New returns a Node for cfg; it checks cfg.
func New(cfg Config) (*Node, error) {
	switch {
	case cfg.Client == nil:
		return nil, errors.New("cluster: no etcd client")
	case cfg.ID == "" || strings.ContainsAny(cfg.ID, "/ \t\n"):
		return nil, fmt.Errorf("server id %q: give each server a name without spaces or slashes (--server-id)", cfg.ID)
	case cfg.HealthQuorum < 0 || cfg.HealthQuorum >= 1:
		return nil, fmt.Errorf("health quorum %g: give the share of live servers that must say up, above 0 and below 1: 0.5 (a majority, the default) or 0.18 (Route 53's rule)", cfg.HealthQuorum)
	}
	if cfg.HealthQuorum == 0 {
		cfg.HealthQuorum = DefaultHealthQuorum
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if !strings.HasSuffix(cfg.Prefix, "/") {
		cfg.Prefix += "/"
	}
	cfg.Prefix += "cluster/"
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.SessionTTL == 0 {
		cfg.SessionTTL = DefaultSessionTTL
	}
	if cfg.AskTimeout == 0 {
		cfg.AskTimeout = DefaultAskTimeout
	}
	if cfg.HTTP == nil {
		cfg.HTTP = &http.Client{Timeout: cfg.AskTimeout}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Node{cfg: cfg, log: cfg.Logger.With("server_id", cfg.ID), members: map[string]Member{}, votes: newVotes(), served: newServed()}, nil
}

// Advertise sets Config.PeerURL when it is known only once the API
// listens (an --api on port 0). Call it before Run.
func (n *Node) Advertise(peerURL string) { n.cfg.PeerURL = peerURL }

// ID is this server's id.
func (n *Node) ID() string { return n.cfg.ID }

// Members returns the live members, this one included, ordered by id.
func (n *Node) Members() []Member {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]Member, 0, len(n.members))
	for _, m := range n.members {
		out = append(out, m)
	}
	sortMembers(out)
	return out
}

// Leading reports whether this server is the cluster's decider now.
func (n *Node) Leading() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.leading
}

// Run joins the cluster with local as this server's registry and takes
// part until ctx ends: it follows the members, registers this one under a
// session, and campaigns for leadership. A session lost (etcd unreachable
// longer than the session TTL) makes this server a follower until a new
// one is made. It returns nil when ctx ends, or an error that retrying
// cannot fix.
func (n *Node) Run(ctx context.Context, local Local) error {
	if n.cfg.PeerURL == "" {
		return errors.New("cluster: no peer URL: the other servers could not reach this one")
	}
	n.local.Store(&localBox{local})
	n.started = n.cfg.Now()
	for err := n.loadSecret(ctx); err != nil; err = n.loadSecret(ctx) {
		if ctx.Err() != nil {
			return nil
		}
		n.log.Warn("cannot join the cluster yet; retrying", "err", err)
		sleep(ctx, time.Second)
	}
	var wg sync.WaitGroup
	defer n.left()
	defer wg.Wait()
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wg.Add(3)
	go func() { defer wg.Done(); n.followMembers(wctx) }()
	go func() { defer wg.Done(); n.followVotes(wctx) }()
	go func() { defer wg.Done(); n.followServed(wctx) }()
	for ctx.Err() == nil {
		err := n.session(ctx)
		n.setLeading(false)
		if ctx.Err() != nil {
			break
		}
		n.log.Warn("cluster session ended; this server follows until it has a new one", "err", err)
		sleep(ctx, time.Second)
	}
	return nil
}

// session makes a session, registers this member under it and campaigns,
// until the session ends or ctx does.
func (n *Node) session(ctx context.Context) error {
	s, err := concurrency.NewSession(n.cfg.Client, concurrency.WithTTL(int(n.cfg.SessionTTL/time.Second)), concurrency.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("make etcd session: %w", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), n.cfg.AskTimeout)
		defer cancel()
		_, _ = n.cfg.Client.Revoke(cctx, s.Lease()) // leave at once, not after the TTL
		s.Orphan()
	}()
	if err := n.register(ctx, s); err != nil {
		return err
	}
	vctx, stopVotes := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); n.writeVotes(vctx, s) }()
	go func() { defer wg.Done(); n.writeServed(vctx, s) }()
	defer func() { stopVotes(); wg.Wait() }()
	e := concurrency.NewElection(s, n.cfg.Prefix+"leader")
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-s.Done():
			cancel()
		case <-cctx.Done():
		}
	}()
	if err := e.Campaign(cctx, n.cfg.ID); err != nil {
		return fmt.Errorf("campaign: %w", err)
	}
	n.setLeading(true)
	select {
	case <-s.Done():
		return errors.New("etcd session expired")
	case <-ctx.Done():
		return nil
	}
}

// register lists this member under session s. A live member with the same
// id (another process, or this one's previous session not yet expired)
// is waited for.
func (n *Node) register(ctx context.Context, s *concurrency.Session) error {
	key := n.cfg.Prefix + "members/" + n.cfg.ID
	val, _ := json.Marshal(Member{ID: n.cfg.ID, URL: n.cfg.PeerURL, Started: n.started})
	for tries := 0; ; tries++ {
		resp, err := n.cfg.Client.Txn(ctx).
			If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
			Then(clientv3.OpPut(key, string(val), clientv3.WithLease(s.Lease()))).
			Commit()
		if err != nil {
			return fmt.Errorf("register member %s: %w", n.cfg.ID, err)
		}
		if resp.Succeeded {
			n.log.Info("joined the cluster", "peer_url", n.cfg.PeerURL)
			return nil
		}
		if tries%30 == 0 { // a restart's old session ends within the TTL; anything longer is two servers with one id
			n.log.Error("a live member of the cluster has this server's id; this server takes no part until it leaves: give each server its own --server-id",
				"waited", (time.Duration(tries) * time.Second).String())
		}
		if !sleep(ctx, time.Second) {
			return ctx.Err()
		}
	}
}

// left forgets the members once this server has left.
func (n *Node) left() {
	n.mu.Lock()
	n.members = map[string]Member{}
	n.mu.Unlock()
}

func (n *Node) setLeading(on bool) {
	n.mu.Lock()
	changed := n.leading != on
	n.leading = on
	n.mu.Unlock()
	if !changed {
		return
	}
	if on {
		n.log.Info("elected the cluster's lease decider")
	}
	if b := n.local.Load(); b != nil {
		b.SetLeading(on)
	}
}

// sleep waits d; false when ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
