package etcdstore_test

import (
	"context"
	"net/url"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"

	"github.com/dnslb/dnslb/internal/store"
	"github.com/dnslb/dnslb/internal/store/etcdstore"
	"github.com/dnslb/dnslb/internal/store/storetest"
)

// bigTxnOps is the --max-txn-ops of the conformance etcd: the suite writes
// a transaction of 1,000 changes, which etcd's default (128) refuses (see
// TestTooManyOps for that refusal).
const bigTxnOps = 2048

// keepRevisions is how much history the conformance etcd keeps: a
// compactor drops older revisions, so the ErrCompacted test runs.
const keepRevisions = 64

// startEtcd starts one embedded etcd member on 127.0.0.1 port 0, with
// maxOps as its --max-txn-ops (0: etcd's default), and stops it when the
// test ends.
func startEtcd(t *testing.T, maxOps uint) string {
	t.Helper()
	return startEtcdWith(t, func(cfg *embed.Config) {
		if maxOps > 0 {
			cfg.MaxTxnOps = maxOps
		}
	})
}

// startEtcdQuota starts one with a space quota of quota bytes.
func startEtcdQuota(t *testing.T, quota int64) string {
	t.Helper()
	return startEtcdWith(t, func(cfg *embed.Config) { cfg.QuotaBackendBytes = quota })
}

func startEtcdWith(t *testing.T, config func(*embed.Config)) string {
	t.Helper()
	cfg := embed.NewConfig()
	cfg.Name = "m0"
	cfg.Dir = t.TempDir()
	u, _ := url.Parse("http://127.0.0.1:0")
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{*u}, []url.URL{*u}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{*u}, []url.URL{*u}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.LogLevel = "error"
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	cfg.UnsafeNoFsync = true
	config(cfg)
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		t.Fatalf("start etcd: %v", err)
	}
	t.Cleanup(e.Close)
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(20 * time.Second):
		t.Fatal("etcd not ready after 20s")
	}
	return "http://" + e.Clients[0].Addr().String()
}

func newClient(t *testing.T, endpoints ...string) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatalf("etcd client: %v", err)
	}
	return cli
}

func open(t *testing.T, endpoint string, opts etcdstore.Options) *etcdstore.Store {
	t.Helper()
	opts.Client, opts.OwnClient = newClient(t, endpoint), true
	st, err := etcdstore.New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return st
}

// compact keeps etcd's history at keepRevisions until the test ends.
func compact(t *testing.T, endpoint string) {
	cli := newClient(t, endpoint)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		var done int64
		for {
			select {
			case <-tick.C:
			case <-ctx.Done():
				return
			}
			resp, err := cli.Get(ctx, "compact-probe")
			if err != nil {
				continue
			}
			if to := resp.Header.Revision - keepRevisions; to > done {
				if _, err := cli.Compact(ctx, to); err == nil {
					done = to
				}
			}
		}
	})
	t.Cleanup(func() { cancel(); wg.Wait(); cli.Close() })
}

func TestConformance(t *testing.T) {
	var mu sync.Mutex
	endpoints := map[store.Store]string{}
	openStore := func(t *testing.T) store.Store {
		ep := startEtcd(t, bigTxnOps)
		compact(t, ep)
		st := open(t, ep, etcdstore.Options{})
		mu.Lock()
		endpoints[st] = ep
		mu.Unlock()
		return st
	}
	reopen := func(t *testing.T, old store.Store) store.Store {
		if err := old.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		mu.Lock()
		defer mu.Unlock()
		st := open(t, endpoints[old], etcdstore.Options{})
		endpoints[st] = endpoints[old]
		return st
	}
	storetest.Run(t, openStore, reopen)
	t.Run("Docs", func(t *testing.T) { storetest.RunDocs(t, openStore, reopen) })
	t.Run("Journal", func(t *testing.T) { storetest.RunJournal(t, openStore, reopen) })
}
