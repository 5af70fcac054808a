package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"

	"github.com/dnslb/dnslb/internal/api"
	"github.com/dnslb/dnslb/internal/store"
	"github.com/dnslb/dnslb/internal/store/boltstore"
	"github.com/dnslb/dnslb/internal/store/etcdstore"
)

// storeFlags choose where serve keeps its state: the bbolt file under
// --data (the default), or an etcd cluster shared by several servers.
type storeFlags struct {
	Store            string `name:"store" placeholder:"etcd://HOST:2379[,HOST:2379...]" help:"Where zones and record sets are kept: empty for the bbolt file under --data (default), or etcd://HOST:PORT[,HOST:PORT...] for several dnslb servers sharing one etcd cluster."`
	EtcdPrefix       string `name:"etcd-prefix" default:"/dnslb/" help:"Prefix of dnslb's keys in etcd (several dnslb clusters may share one etcd under different prefixes)."`
	EtcdCert         string `name:"etcd-cert" type:"path" help:"Client certificate (PEM) for etcd over TLS, with --etcd-key."`
	EtcdKey          string `name:"etcd-key" type:"path" help:"Private key (PEM) of --etcd-cert."`
	EtcdCA           string `name:"etcd-ca" type:"path" help:"CA (PEM) that signs etcd's server certificates; any of the TLS flags makes the connection TLS."`
	EtcdUser         string `name:"etcd-user" help:"etcd user name (etcd authentication), with a password."`
	EtcdPassword     string `name:"etcd-password" env:"DNSLB_ETCD_PASSWORD" help:"Password of --etcd-user; prefer DNSLB_ETCD_PASSWORD or --etcd-password-file, which other users cannot see in ps."`
	EtcdPasswordFile string `name:"etcd-password-file" type:"path" help:"File holding the password of --etcd-user."`
}

// etcdTimeout bounds each etcd call of the store; etcdReapBatch keeps the
// reaper's transactions under etcd's default --max-txn-ops (128).
const (
	etcdTimeout   = 5 * time.Second
	etcdReapBatch = 100
)

// openedStore is the store serve runs on, and what the API and the
// registry need to know of it.
type openedStore struct {
	store.Store
	backup    api.Backuper // nil: GET /v1/backup answers 501 (etcd: use etcdctl snapshot save)
	storage   api.Storage
	reapBatch int
	where     string           // for the start log
	etcd      *clientv3.Client // an etcd store's client (cluster coordination); nil for bbolt
}

// etcd reports whether --store names an etcd cluster.
func (f *storeFlags) etcd() bool { return f.Store != "" }

// validateStore checks the store flags; errors name the flag and exit 2.
func (f *storeFlags) validateStore() error {
	if !f.etcd() {
		for flag, v := range map[string]string{"--etcd-cert": f.EtcdCert, "--etcd-key": f.EtcdKey, "--etcd-ca": f.EtcdCA,
			"--etcd-user": f.EtcdUser, "--etcd-password": f.EtcdPassword, "--etcd-password-file": f.EtcdPasswordFile} {
			if v != "" {
				return usagef("%s needs --store etcd://HOST:PORT[,...]", flag)
			}
		}
		return nil
	}
	if _, err := f.endpoints(); err != nil {
		return err
	}
	if !strings.HasPrefix(f.EtcdPrefix, "/") || !strings.HasSuffix(f.EtcdPrefix, "/") {
		return usagef("--etcd-prefix %q: must start and end with / (like /dnslb/)", f.EtcdPrefix)
	}
	if (f.EtcdCert == "") != (f.EtcdKey == "") {
		return usagef("--etcd-cert and --etcd-key go together")
	}
	if f.EtcdPassword != "" && f.EtcdPasswordFile != "" {
		return usagef("--etcd-password (or DNSLB_ETCD_PASSWORD) and --etcd-password-file: give one")
	}
	hasPassword := f.EtcdPassword != "" || f.EtcdPasswordFile != ""
	if (f.EtcdUser == "") != !hasPassword {
		return usagef("--etcd-user needs a password (--etcd-password-file or DNSLB_ETCD_PASSWORD), and a password needs --etcd-user")
	}
	return nil
}

// endpoints parses --store etcd://HOST:PORT[,HOST:PORT...] into URLs.
func (f *storeFlags) endpoints() ([]string, error) {
	rest, ok := strings.CutPrefix(f.Store, "etcd://")
	if !ok {
		return nil, usagef("--store %q: allowed etcd://HOST:PORT[,HOST:PORT...], or nothing for the bbolt file under --data", f.Store)
	}
	scheme := "http://"
	if f.EtcdCA != "" || f.EtcdCert != "" {
		scheme = "https://"
	}
	var eps []string
	for hp := range strings.SplitSeq(rest, ",") {
		host, port, err := net.SplitHostPort(hp)
		if n, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || n < 1 || n > 65535 {
			return nil, usagef("--store %q: endpoint %q: want HOST:PORT (like 127.0.0.1:2379)", f.Store, hp)
		}
		eps = append(eps, scheme+hp)
	}
	return eps, nil
}

// openStore opens the store the flags name.
func (c *ServeCmd) openStore(ctx context.Context, log *slog.Logger) (*openedStore, error) {
	if c.etcd() {
		return c.openEtcd(ctx, log)
	}
	st, err := c.openBolt(log)
	if err != nil {
		return nil, err
	}
	return &openedStore{Store: st, backup: st, storage: st, where: "bbolt " + c.Data}, nil
}

// openBolt makes the data directory and opens the bolt file in it.
func (c *ServeCmd) openBolt(log *slog.Logger) (*boltstore.Store, error) {
	if err := os.MkdirAll(c.Data, 0o700); err != nil {
		return nil, fmt.Errorf("--data %s: cannot create the data directory: %w", c.Data, err)
	}
	path := filepath.Join(c.Data, "dnslb.db")
	st, err := boltstore.Open(path, boltstore.Options{Logger: log.With("part", "store")})
	if err != nil {
		return nil, c.advise(fmt.Errorf("--data %s: %w", c.Data, err))
	}
	return st, nil
}

// openEtcd connects to etcd (without waiting for it: the registry loads
// once etcd answers) and starts the store's prober, which Close stops.
func (c *ServeCmd) openEtcd(ctx context.Context, log *slog.Logger) (*openedStore, error) {
	eps, _ := c.endpoints() // checked by validateStore
	cfg, err := c.etcdConfig(eps)
	if err != nil {
		return nil, err
	}
	cli, err := c.dialEtcd(ctx, log, cfg)
	if err != nil {
		return nil, err
	}
	st, err := etcdstore.New(etcdstore.Options{Client: cli, OwnClient: true, Prefix: c.EtcdPrefix,
		Endpoints: eps, Timeout: etcdTimeout, Logger: log.With("part", "store")})
	if err != nil {
		cli.Close()
		return nil, err
	}
	go func() { _ = st.Run(context.Background()) }() // ends with st.Close
	c.checkEtcd(log, st, eps)
	return &openedStore{Store: st, storage: st, reapBatch: etcdReapBatch, etcd: cli, where: "etcd " + strings.Join(eps, ",") + " " + c.EtcdPrefix}, nil
}

// dialEtcd makes the etcd client. Without a user it connects lazily; with
// one, the client logs in as it is made, which needs etcd up: dialEtcd
// then tries again until etcd answers or ctx ends (a signal), saying what
// it waits for. A refused login ends serve.
func (c *ServeCmd) dialEtcd(ctx context.Context, log *slog.Logger, cfg clientv3.Config) (*clientv3.Client, error) {
	for {
		cfg.Context = ctx
		cli, err := clientv3.New(cfg)
		if err == nil {
			return cli, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("--store %s: %w", c.Store, err)
		}
		log.Error(waitingForEtcd, "endpoints", cfg.Endpoints, "err", err)
	}
}

// waitingForEtcd is logged while etcd does not answer at start.
const waitingForEtcd = "waiting for etcd: DNS and the API start once dnslb's state is loaded from it; check that etcd runs at these endpoints, and that --etcd-ca, --etcd-cert, --etcd-key and --etcd-user match its setup"

// checkEtcd says, when etcd does not answer at start, what serve waits for
// and what to check. The registry keeps trying (and logging) until it has
// loaded the state: no DNS answer is given before.
func (c *ServeCmd) checkEtcd(log *slog.Logger, st *etcdstore.Store, eps []string) {
	ctx, cancel := context.WithTimeout(context.Background(), etcdTimeout)
	defer cancel()
	if err := st.Check(ctx); err != nil {
		log.Error(waitingForEtcd, "endpoints", eps, "err", err)
	}
}

// etcdConfig is the etcd client configuration of the flags. The password
// is never logged.
func (c *ServeCmd) etcdConfig(eps []string) (clientv3.Config, error) {
	cfg := clientv3.Config{Endpoints: eps, DialTimeout: etcdTimeout, DialKeepAliveTime: 10 * time.Second,
		DialKeepAliveTimeout: 5 * time.Second, Logger: zap.NewNop(), Username: c.EtcdUser,
		// Reconnect within 2 s of etcd coming back (gRPC's default backoff grows to 2 minutes).
		DialOptions: []grpc.DialOption{grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 2 * time.Second},
			MinConnectTimeout: 2 * time.Second})}}
	pw, err := c.etcdPassword()
	if err != nil {
		return cfg, err
	}
	cfg.Password = pw
	cfg.TLS, err = c.etcdTLS()
	return cfg, err
}

func (c *ServeCmd) etcdPassword() (string, error) {
	if c.EtcdPasswordFile == "" {
		return c.EtcdPassword, nil
	}
	b, err := os.ReadFile(c.EtcdPasswordFile)
	if err != nil {
		return "", usagef("--etcd-password-file: %w", err)
	}
	pw := strings.TrimRight(string(b), "\r\n")
	if pw == "" {
		return "", usagef("--etcd-password-file %s: the file is empty", c.EtcdPasswordFile)
	}
	return pw, nil
}

// etcdTLS is the TLS client configuration of --etcd-ca, --etcd-cert and
// --etcd-key; nil without any.
func (c *ServeCmd) etcdTLS() (*tls.Config, error) {
	if c.EtcdCA == "" && c.EtcdCert == "" {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.EtcdCA != "" {
		pem, err := os.ReadFile(c.EtcdCA)
		if err != nil {
			return nil, usagef("--etcd-ca: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, usagef("--etcd-ca %s: no PEM certificate in the file", c.EtcdCA)
		}
	}
	if c.EtcdCert != "" {
		cert, err := tls.LoadX509KeyPair(c.EtcdCert, c.EtcdKey)
		if err != nil {
			return nil, usagef("--etcd-cert %s, --etcd-key %s: %w", c.EtcdCert, c.EtcdKey, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}
