package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"

	"github.com/dnslb/dnslb/internal/api"
	"github.com/dnslb/dnslb/internal/dnsserver"
	"github.com/dnslb/dnslb/internal/heartbeat"
	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/registry"
	"github.com/dnslb/dnslb/internal/store/boltstore"
)

// ServeCmd runs the DNS server, the API and the registry over one store.
type ServeCmd struct {
	DNS       string        `name:"dns" default:"127.0.0.1:5300" help:"DNS address (UDP and TCP)."`
	API       string        `name:"api" default:"127.0.0.1:5380" help:"HTTP API and /metrics address."`
	Heartbeat string        `name:"heartbeat" default:"dns" help:"Where agents send lease heartbeats (UDP): 'dns' (the DNS port, told apart from queries by their first bytes), HOST:PORT (a socket of their own), or 'off' (renewals over HTTP only)."`
	Data      string        `default:"./dnslb-data" help:"Data directory (holds dnslb.db)."`
	Zone      []string      `sep:"none" help:"Zone to serve (repeatable); created with SOA and NS if missing."`
	NS        []string      `name:"ns" sep:"none" placeholder:"NAME[=ADDR,...]" help:"Name server of the --zone zones created here (repeatable; default ns1.<zone>), with its IPv4/IPv6 addresses when inside the zone (glue), e.g. ns1.lb.example.com=192.0.2.53."`
	ServerID  string        `name:"server-id" placeholder:"NAME" help:"This server's identity: its name in a cluster (--store etcd://, unique per server), and the answer to CHAOS TXT id.server. and hostname.bind. (and NSID with --nsid). Default: the host name."`
	Demo      bool          `help:"Into an empty store, also create zone lb.test with weighted name www (weights 10, 20, 30 on 127.0.1.1-3)."`
	Lameduck  time.Duration `default:"0s" help:"On SIGTERM, keep answering this long while /readyz reports not ready."`

	LeaseGrace   time.Duration `default:"1m" help:"How long a set whose lease lapsed stays (out of answers) before it is deleted."`
	RestartGrace time.Duration `default:"0s" help:"Extra time every lease gets when the server starts. None by default: agents renew every third of their lease, so a set nobody renews leaves answers within one lease of a restart."`
	BrakeMax     time.Duration `default:"2m" help:"Mass-expiry brake: when renewals across the whole server stop, keep lapsed leases in answers at most this long (0: no brake)."`
	BrakeShare   *float64      `hidden:"" help:"Gone: the brake is server-wide now (see --brake-max); accepted and ignored, with a warning."`
	DrainMargin  time.Duration `default:"5s" help:"Safety margin added to the TTL before a drained set is removed."`
	Shutdown     time.Duration `default:"5s" help:"How long in-flight requests get to finish at shutdown."`
	Pprof        bool          `help:"Serve Go profiles at /debug/pprof/ on the API address: to admin tokens, or without --tokens to loopback clients only."`
	LogLevel     string        `enum:"debug,info,warn,error" default:"info" help:"Log level: debug, info, warn, error."`
	LogFormat    string        `enum:"text,json" default:"text" help:"Log format: text or json."`

	MetricsPerSet bool     `name:"metrics-per-set" help:"Export answers per record set on /metrics (a series per set); by default they are summed per name."`
	CheckAllow    []string `name:"check-allow" sep:"," placeholder:"CIDR" help:"Addresses server-side health checks may probe besides each set's own (never loopback, link-local or metadata ones), as CIDR prefixes or addresses."`

	apiListener  net.Listener // tests: served instead of binding --api
	dnsLimits    `embed:""`   // rrl.go
	dnsIdentity  `embed:""`   // identity.go
	externalDNS  `embed:""`   // xdns.go
	storeFlags   `embed:""`   // store.go
	clusterFlags `embed:""`   // cluster.go
	APISecurity
	Route53Flags // route53.go
}

// Run serves until SIGINT or SIGTERM.
func (c *ServeCmd) Run(g *Globals) error {
	log := c.logger(g)
	if err := c.validate(); err != nil { // before anything is written
		return err
	}
	if err := c.validateStore(); err != nil {
		return err
	}
	if err := c.validateCluster(); err != nil {
		return err
	}
	sec, err := c.APISecurity.load(c.API)
	if err != nil {
		return err
	}
	if c.BrakeShare != nil {
		log.Warn("--brake-share is ignored: the mass-expiry brake now engages only when renewals across the whole server stop, never for one name; --brake-max bounds it")
	}
	st, err := c.openStore(g.ctx, log)
	if err != nil {
		return err
	}
	defer st.Close()
	log.Info("store opened", "store", st.where)
	node, err := c.clusterNode(st, log) // nil for bbolt
	if err != nil {
		return err
	}
	metrics := prometheus.NewRegistry()
	metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	regOpts := registry.Options{Logger: log.With("part", "registry"), Registerer: metrics,
		LeaseGrace: c.LeaseGrace, RestartGrace: c.RestartGrace, BrakeMax: c.brakeMax(), DrainMargin: c.DrainMargin,
		MetricsPerSet: c.MetricsPerSet, Checks: c.checkRules(), ReapBatch: st.reapBatch}
	clusterOptions(&regOpts, node)
	reg := registry.New(st.Store, regOpts)
	clusterMetrics(metrics, reg, node)
	hbs := c.heartbeatHandler(reg, log, metrics)
	dnsCfg := dnsserver.Config{Addr: c.DNS, Snapshot: reg, Logger: log.With("part", "dns"), Registerer: metrics, Shutdown: c.Shutdown}
	dnsCfg.RRL, _ = c.rrl() // checked by validate
	dnsCfg.TCPMaxQueries = c.TCPMaxQueries
	dnsCfg.Identity = c.identity()
	if c.Heartbeat == "dns" {
		dnsCfg.Datagram = hbs.Answer
	}
	dns, err := dnsserver.New(dnsCfg)
	if err != nil {
		return err
	}
	extra := map[string]http.Handler{"GET /metrics": promhttp.HandlerFor(metrics, promhttp.HandlerOpts{})}
	if c.Pprof {
		extra["GET /debug/pprof/"] = http.HandlerFunc(pprof.Index)
		extra["GET /debug/pprof/profile"] = http.HandlerFunc(pprof.Profile)
		extra["GET /debug/pprof/trace"] = http.HandlerFunc(pprof.Trace)
	}
	if err := dns.Listen(); err != nil {
		return advisePort(c.DNS, err)
	}
	var hb *heartbeat.Server
	var hbAddr netip.AddrPort
	switch c.Heartbeat {
	case "off":
	case "dns":
		hbAddr, err = netip.ParseAddrPort(dns.Addr())
		if err != nil {
			return fmt.Errorf("--dns %s: %w", c.DNS, err)
		}
	default:
		hb = heartbeat.NewServer(c.Heartbeat, hbs)
		if err := hb.Listen(); err != nil {
			return advisePort(c.Heartbeat, fmt.Errorf("--heartbeat %s: %w", c.Heartbeat, err))
		}
		hbAddr = hb.Addr()
	}
	apiCfg := api.Config{Addr: c.API, Registry: reg, Logger: log.With("part", "api"), Shutdown: c.Shutdown,
		Extra: extra, Heartbeat: hbAddr, Listener: c.apiListener, Backup: st.backup, Storage: st.storage}
	sec.apply(&apiCfg)
	if apiCfg.Route53, err = c.route53Handler(g.ctx, reg, nodeSync(node), log, c.Data); err != nil {
		return err
	}
	clusterRoutes(&apiCfg, reg, node)
	apiSrv := api.New(apiCfg)
	if err := apiSrv.Listen(); err != nil {
		return advisePort(c.API, err)
	}
	if err := c.listenWebhook(reg, log, c.Shutdown); err != nil {
		return err
	}
	defer c.startCluster(node, reg, apiSrv.Addr(), log)()
	return c.run(g.ctx, g, log, reg, dns, apiSrv, hb)
}

// heartbeatHandler answers lease heartbeats by renewing in reg.
func (c *ServeCmd) heartbeatHandler(reg *registry.Registry, log *slog.Logger, metrics prometheus.Registerer) *heartbeat.Handler {
	return heartbeat.NewHandler(heartbeat.Config{Logger: log.With("part", "heartbeat"), Registerer: metrics,
		Renew: reg.Beat})
}

// run starts the registry, seeds zones, serves, and shuts down in order:
// lameduck, then DNS and API (finishing in-flight work), then the
// registry. A component that fails (a listener, a UDP loop, the
// registry) ends serving and its error is returned: the process exits
// rather than leave part of its clients without answers.
func (c *ServeCmd) run(ctx context.Context, g *Globals, log *slog.Logger, reg *registry.Registry, dns *dnsserver.Server, apiSrv *api.Server, hb *heartbeat.Server) error {
	regCtx, stopReg := context.WithCancel(context.Background())
	defer stopReg()
	regDone := make(chan error, 1)
	go func() { regDone <- reg.Run(regCtx) }()
	if err := c.seed(ctx, log, reg, regDone); err != nil {
		return c.advise(err)
	}
	srvCtx, stopSrv := context.WithCancel(context.Background())
	defer stopSrv()
	eg, egCtx := errgroup.WithContext(srvCtx)
	eg.Go(func() error { return dns.Run(egCtx) })
	eg.Go(func() error { return apiSrv.Run(egCtx) })
	hbAt := c.Heartbeat
	if hb != nil {
		eg.Go(func() error { return hb.Run(egCtx) })
		hbAt = hb.Addr().String()
	}
	if c.webhook != nil {
		eg.Go(func() error { return c.webhook.Run(egCtx) })
		log.Info("external-dns webhook serving", "addr", c.webhook.Addr(), "owner", c.ExternalDNSOwner)
	}
	log.Info("dnslb serving", "dns", dns.Addr(), "api", apiSrv.Addr(), "heartbeat", hbAt, "data", c.Data, "zones", c.Zone)
	regErr, stopped := c.wait(ctx, egCtx, g.hup, regDone, log, apiSrv)
	if !stopped && egCtx.Err() == nil {
		log.Info("shutting down", "lameduck", c.Lameduck.String())
		apiSrv.SetLameduck()
		c.lameduck(egCtx)
	}
	stopSrv()
	err := eg.Wait()
	stopReg()
	if !stopped {
		regErr = <-regDone
	}
	return errors.Join(err, regErr)
}

// wait serves until ctx ends (a signal), a component fails (egCtx ends)
// or the registry stops (stopped, with its error). SIGHUP reloads the
// API's tokens and certificate.
func (c *ServeCmd) wait(ctx, egCtx context.Context, hup <-chan os.Signal, regDone <-chan error, log *slog.Logger, apiSrv *api.Server) (regErr error, stopped bool) {
	for {
		select {
		case <-ctx.Done():
			return nil, false
		case <-egCtx.Done():
			log.Error("a component failed; shutting down")
			return nil, false
		case err := <-regDone:
			return fmt.Errorf("registry stopped: %w", err), true
		case <-hup:
			reload(log, apiSrv)
		}
	}
}

// lameduck keeps serving for --lameduck while /readyz says not ready,
// unless a component fails meanwhile.
func (c *ServeCmd) lameduck(egCtx context.Context) {
	t := time.NewTimer(c.Lameduck)
	defer t.Stop()
	select {
	case <-t.C:
	case <-egCtx.Done():
	}
}

func (c *ServeCmd) validate() error {
	if c.Heartbeat != "dns" && c.Heartbeat != "off" && !validHostPort(c.Heartbeat) {
		return fmt.Errorf("--heartbeat %q: allowed dns, off, or HOST:PORT", c.Heartbeat)
	}
	if _, err := c.rrl(); err != nil {
		return err
	}
	if err := c.validateIdentity(); err != nil {
		return err
	}
	if _, err := c.seedZones(); err != nil {
		return err
	}
	if err := c.externalDNS.validate(); err != nil {
		return err
	}
	if _, err := dnsserver.ParsePrefixes(c.CheckAllow); err != nil {
		return fmt.Errorf("--check-allow %s: %w", strings.Join(c.CheckAllow, ","), err)
	}
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{{"--lease-grace", c.LeaseGrace}, {"--restart-grace", c.RestartGrace}, {"--drain-margin", c.DrainMargin},
		{"--lameduck", c.Lameduck}, {"--shutdown", c.Shutdown}, {"--brake-max", c.BrakeMax}} {
		if d.v < 0 {
			return fmt.Errorf("%s %s: allowed 0 or more", d.flag, d.v)
		}
	}
	return nil
}

// brakeMax is --brake-max for the registry, where below 0 turns the brake
// off (0 there means the default).
func (c *ServeCmd) brakeMax() time.Duration {
	if c.BrakeMax == 0 {
		return -1
	}
	return c.BrakeMax
}

// checkRules are the rules of server-side check targets of the flags,
// checked by validate.
func (c *ServeCmd) checkRules() record.CheckRules {
	allow, _ := dnsserver.ParsePrefixes(c.CheckAllow)
	return record.CheckRules{Allow: allow}
}

func validHostPort(s string) bool {
	_, port, err := net.SplitHostPort(s)
	return err == nil && port != ""
}

// seed waits for the first snapshot and creates the zones asked for.
func (c *ServeCmd) seed(ctx context.Context, log *slog.Logger, reg *registry.Registry, regDone <-chan error) error {
	select {
	case <-reg.Ready():
	case err := <-regDone:
		return fmt.Errorf("registry: %w", err)
	case <-ctx.Done():
		return ctx.Err()
	}
	demo, err := c.demoWanted(ctx, log, reg)
	if err != nil {
		return err
	}
	zones, _ := c.seedZones() // checked by validate
	for i, z := range zones {
		if err := ensureZone(ctx, log, reg, z, len(c.NS) > 0); err != nil {
			return fmt.Errorf("--zone %s: %w", c.Zone[i], err)
		}
	}
	if demo {
		return seedDemo(ctx, reg)
	}
	return nil
}

// demoWanted says whether to create the demo: only into an empty store, so
// that a restart with --demo never undoes what the user changed since.
func (c *ServeCmd) demoWanted(ctx context.Context, log *slog.Logger, reg *registry.Registry) (bool, error) {
	if !c.Demo {
		return false, nil
	}
	zones, err := reg.Zones(ctx)
	if err != nil {
		return false, fmt.Errorf("--demo: %w", err)
	}
	if len(zones) > 0 {
		log.Info("demo not created: the store has zones already", "zones", len(zones))
		return false, nil
	}
	return true, nil
}

// seedDemo creates zone lb.test with the weighted name www.
func seedDemo(ctx context.Context, reg *registry.Registry) error {
	if err := reg.EnsureZone(ctx, "lb.test"); err != nil {
		return fmt.Errorf("--demo: %w", err)
	}
	var changes []registry.Change
	for i, w := range []int{10, 20, 30} {
		changes = append(changes, registry.Change{Action: registry.Upsert, Set: record.Set{
			Key:    record.Key{Name: "www", Type: record.A, SetID: fmt.Sprintf("demo-%d", i+1)},
			Weight: w, TTL: 60, Values: []string{fmt.Sprintf("127.0.1.%d", i+1)},
		}})
	}
	_, err := reg.Apply(ctx, "lb.test", changes)
	return err
}

// advise adds what to do to an error that says the data file is damaged.
func (c *ServeCmd) advise(err error) error {
	if !errors.Is(err, boltstore.ErrDamaged) {
		return err
	}
	return fmt.Errorf("%w\nThe server cannot run on a damaged file. Restore the newest backup with\n  dnslb restore BACKUP_FILE --data %s\n(backups are made by `dnslb backup`); the damaged file is kept beside it", err, c.Data)
}

func (c *ServeCmd) logger(g *Globals) *slog.Logger {
	return newLogger(g.stderr, c.LogLevel, c.LogFormat)
}

// newLogger returns a slog logger; level and format were checked by kong.
func newLogger(w io.Writer, level, format string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: l, ReplaceAttr: logAttr}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
