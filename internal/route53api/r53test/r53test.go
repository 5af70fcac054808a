// Package r53test starts dnslb's Route 53-compatible API for tests: a
// registry over a real bbolt file in t.TempDir(), the HTTP API on a
// loopback port, and one admin access key. Clients (the AWS SDK, the aws
// CLI, boto3) point their endpoint at URL.
package r53test

import (
	"context"
	"log/slog"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/dnslb/dnslb/internal/api"
	"github.com/dnslb/dnslb/internal/registry"
	"github.com/dnslb/dnslb/internal/route53api"
	"github.com/dnslb/dnslb/internal/store"
	"github.com/dnslb/dnslb/internal/store/boltstore"
)

// The admin access key every Server accepts.
const (
	KeyID  = "AKIADNSLBTEST0000001"
	Secret = "dnslb-test-secret-access-key-000000000001"
)

// Options configure Start.
type Options struct {
	// Inject is route53api.Options.Inject: return route53api.Throttling()
	// or route53api.PriorRequestNotComplete() to make a call fail.
	Inject func(op string) error
	// Keys replaces the admin key when set; KeysFile is where they were
	// read from (route53api.Options.KeysFile).
	Keys     *route53api.Keys
	KeysFile string
	// Registry options (a fake clock, Manual) for the registry.
	Registry registry.Options
	Now      func() time.Time
	// Stalled leaves the registry not running: writes commit but DNS
	// answers never carry them, so every change stays PENDING (set
	// Registry.VisibleWait short).
	Stalled bool
	// ProbeInterval is route53api.Options.ProbeInterval.
	ProbeInterval time.Duration
	Logger        *slog.Logger
	// Store, when set, is the store the server uses instead of a new
	// bbolt file: several servers over one store, as servers share etcd.
	// The caller closes it.
	Store store.Store
}

// Server is a running API.
type Server struct {
	URL      string // http://127.0.0.1:PORT
	Addr     string // 127.0.0.1:PORT
	Registry *registry.Registry
	Handler  *route53api.Handler
}

// Start runs a server until the test ends.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	st, closeStore := o.Store, func() {}
	if st == nil {
		bs, err := boltstore.Open(filepath.Join(t.TempDir(), "dnslb.db"), boltstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		st, closeStore = bs, func() { bs.Close() }
	}
	reg := registry.New(st, o.Registry)
	keys := o.Keys
	if keys == nil {
		k, err := route53api.NewKey(KeyID, Secret, "admin")
		if err != nil {
			t.Fatal(err)
		}
		keys = route53api.NewKeys(k)
	}
	h := route53api.New(route53api.Options{Registry: reg, Keys: keys, KeysFile: o.KeysFile, Inject: o.Inject, Now: o.Now, Logger: o.Logger,
		ProbeInterval: o.ProbeInterval})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := api.New(api.Config{Addr: ln.Addr().String(), Listener: ln, Registry: reg, Route53: h, Logger: o.Logger})
	ctx, cancel := context.WithCancel(context.Background())
	regDone, apiDone := make(chan error, 1), make(chan error, 1)
	if o.Stalled {
		regDone <- nil
	} else {
		go func() { regDone <- reg.Run(ctx) }()
	}
	go func() { apiDone <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-apiDone; err != nil {
			t.Errorf("api: %v", err)
		}
		if err := <-regDone; err != nil {
			t.Errorf("registry: %v", err)
		}
		closeStore()
	})
	if !o.Stalled {
		<-reg.Ready()
	}
	return &Server{URL: "http://" + ln.Addr().String(), Addr: ln.Addr().String(), Registry: reg, Handler: h}
}
