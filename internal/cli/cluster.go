package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dnslb/dnslb/internal/api"
	"github.com/dnslb/dnslb/internal/cluster"
	"github.com/dnslb/dnslb/internal/registry"
	"github.com/dnslb/dnslb/internal/route53api"
)

// clusterFlags configure a server's part in a cluster (--store etcd://):
// package cluster has the design.
type clusterFlags struct {
	PeerURL      string  `name:"peer-url" placeholder:"URL" help:"Where the other servers of a cluster reach this one's API, e.g. http://10.0.0.1:5380. Default: --api's address, which must then be a concrete one."`
	HealthQuorum float64 `name:"health-quorum" default:"0.5" help:"In a cluster, a set with a server-side check is up when more than this share of the live servers say so: 0.5, a majority (default); 0.18 is Route 53's rule."`
}

// validateCluster checks the cluster flags; errors name the flag.
func (c *ServeCmd) validateCluster() error {
	if !c.etcd() {
		if c.PeerURL != "" {
			return usagef("--peer-url needs --store etcd://HOST:PORT[,...]: only the servers of a cluster ask each other")
		}
		return nil
	}
	if c.HealthQuorum <= 0 || c.HealthQuorum >= 1 {
		return usagef("--health-quorum %g: allowed above 0 and below 1: 0.5 (a majority, the default) or 0.18 (Route 53's rule)", c.HealthQuorum)
	}
	if c.PeerURL != "" {
		return nil
	}
	if ap, err := netip.ParseAddrPort(c.API); err != nil || ap.Addr().IsUnspecified() {
		return usagef("--api %s is not an address the other servers of the cluster can reach; give --peer-url http(s)://ADDRESS:PORT", c.API)
	}
	return nil
}

// peerURL is --peer-url, or the address the API listens on (apiAddr).
func (c *ServeCmd) peerURL(apiAddr string) string {
	if c.PeerURL != "" {
		return c.PeerURL
	}
	if c.APICert != "" {
		return "https://" + apiAddr
	}
	return "http://" + apiAddr
}

// clusterNode is this server's node in the cluster when the store is
// etcd, nil otherwise.
func (c *ServeCmd) clusterNode(st *openedStore, log *slog.Logger) (*cluster.Node, error) {
	if st.etcd == nil {
		return nil, nil
	}
	id := c.ServerID
	if id == "" {
		host, err := os.Hostname()
		if err != nil {
			return nil, usagef("--server-id: the host name is unknown (%v); give one", err)
		}
		id = host
	}
	hc, err := c.peerClient()
	if err != nil {
		return nil, err
	}
	node, err := cluster.New(cluster.Config{Client: st.etcd, Prefix: c.EtcdPrefix, ID: id,
		Logger: log.With("part", "cluster"), HTTP: hc, HealthQuorum: c.HealthQuorum})
	if err != nil {
		return nil, usagef("--server-id, --health-quorum: %w", err)
	}
	return node, nil
}

// peerClient is the HTTP client the servers ask each other with: over
// TLS it trusts the system's roots and this server's own --api-cert (the
// servers of a cluster share a CA, or a certificate), and presents that
// certificate when the API wants client certificates.
func (c *ServeCmd) peerClient() (*http.Client, error) {
	hc := &http.Client{Timeout: cluster.DefaultAskTimeout}
	if c.APICert == "" {
		return hc, nil
	}
	roots, err := x509.SystemCertPool()
	if err != nil {
		roots = x509.NewCertPool()
	}
	if pem, err := os.ReadFile(c.APICert); err == nil {
		roots.AppendCertsFromPEM(pem)
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots}
	if c.APIClientCA != "" {
		cert, err := tls.LoadX509KeyPair(c.APICert, c.APIKey)
		if err != nil {
			return nil, usagef("--api-cert %s, --api-key %s: %w", c.APICert, c.APIKey, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	hc.Transport = &http.Transport{TLSClientConfig: cfg, DialContext: (&net.Dialer{Timeout: cluster.DefaultAskTimeout}).DialContext}
	return hc, nil
}

// clusterOptions makes the registry decide lapses and health with the
// other servers of node's cluster (nil: a single server).
func clusterOptions(opts *registry.Options, node *cluster.Node) {
	if node != nil {
		opts.Peers, opts.Votes, opts.Served = node, node, node
	}
}

// clusterRoutes adds the peer endpoint and the change status to the API's
// routes; on a single server the change status answers alone.
func clusterRoutes(cfg *api.Config, reg *registry.Registry, node *cluster.Node) {
	extra := cfg.Extra
	if node == nil {
		extra[api.ChangesRoute] = api.ChangeStatus(reg, nil)
		return
	}
	cfg.Sync = node
	extra[cluster.StatusRoute] = node.StatusHandler(reg.LapsesWaiting)
	extra[cluster.RenewalsRoute] = node.Handler()
	extra[cluster.AppliedRoute] = node.Handler()
	extra[api.ChangesRoute] = api.ChangeStatus(reg, node)
}

// nodeSync is node as the Route 53 API's Syncer: nil (no interface
// holding a nil pointer) on a single server.
func nodeSync(node *cluster.Node) route53api.Syncer {
	if node == nil {
		return nil
	}
	return node
}

// clusterMetrics exports what the cluster looks like from this server.
func clusterMetrics(m prometheus.Registerer, reg *registry.Registry, node *cluster.Node) {
	if node == nil {
		return
	}
	m.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "dnslb_cluster_members",
			Help: "Live servers of the cluster, as this one sees them."}, func() float64 { return float64(len(node.Members())) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "dnslb_cluster_leader",
			Help: "1 when this server decides lapses and drains for the cluster."}, func() float64 {
			if node.Leading() {
				return 1
			}
			return 0
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "dnslb_cluster_lapses_waiting",
			Help: "Lapses the leader cannot decide because a live server did not answer."}, func() float64 {
			n, _ := reg.LapsesWaiting()
			return float64(n)
		}),
	)
}

// startCluster runs node with reg until the returned stop, which leaves
// the cluster (its session is revoked: another server leads at once).
// apiAddr is where the API listens.
func (c *ServeCmd) startCluster(node *cluster.Node, reg *registry.Registry, apiAddr string, log *slog.Logger) (stop func()) {
	if node == nil {
		return func() {}
	}
	node.Advertise(c.peerURL(apiAddr))
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := node.Run(ctx, reg); err != nil {
			log.Error("cluster coordination stopped", "err", err)
		}
	})
	return func() {
		cancel()
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			log.Error("leaving the cluster took more than 10s; exiting all the same")
		}
	}
}
