package cli_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/dnslb/dnslb/internal/dnsserver"
	"github.com/dnslb/dnslb/internal/etcdtest"
	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/registry"
	"github.com/dnslb/dnslb/internal/store"
	"github.com/dnslb/dnslb/internal/store/boltstore"
	"github.com/dnslb/dnslb/internal/store/etcdstore"
)

// BenchmarkQueryByStore serves the same zone (a weighted name of 10 sets)
// through the same registry and DNS server, once from a bbolt file and
// once from etcd embedded in the test process, and sends UDP queries from
// 2 × GOMAXPROCS sockets at once: the query path reads only the
// registry's snapshot, so q/s must not depend on the store. The control
// bbolt+etcd serves from bbolt with an idle embedded etcd beside it: the
// etcd server's own CPU (raft ticks on the same 2 cores), which a real
// deployment runs on other machines. Run the binary several times to
// interleave the three (-count repeats one before the next).
func BenchmarkQueryByStore(b *testing.B) {
	for _, kind := range []string{"bbolt", "etcd", "bbolt+etcd"} {
		b.Run(kind, func(b *testing.B) {
			addr := serveFrom(b, openKind(b, kind))
			const par = 2 // 2 × GOMAXPROCS client sockets
			rts := make(chan func(), par*runtime.GOMAXPROCS(0))
			for range cap(rts) {
				rts <- roundTrip(b, addr)
			}
			b.SetParallelism(par)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				rt := <-rts
				defer func() { rts <- rt }()
				for pb.Next() {
					rt()
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "q/s")
		})
	}
}

func openKind(b *testing.B, kind string) store.Store {
	if kind == "bbolt+etcd" {
		etcdtest.Start(b, 1) // idle
		kind = "bbolt"
	}
	if kind == "bbolt" {
		st, err := boltstore.Open(filepath.Join(b.TempDir(), "dnslb.db"), boltstore.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		return st
	}
	c := etcdtest.Start(b, 1)
	st, err := etcdstore.New(etcdstore.Options{Client: c.Client(b)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}

// serveFrom runs a registry over st with zone lb.test and the weighted
// name pool, and a DNS server over it; it returns the DNS address.
func serveFrom(b *testing.B, st store.Store) string {
	ctx, cancel := context.WithCancel(context.Background())
	reg := registry.New(st, registry.Options{})
	regDone := make(chan error, 1)
	go func() { regDone <- reg.Run(ctx) }()
	<-reg.Ready()
	if err := reg.EnsureZone(ctx, "lb.test"); err != nil {
		b.Fatal(err)
	}
	var changes []registry.Change
	for i := range 10 {
		changes = append(changes, registry.Change{Action: registry.Upsert, Set: record.Set{
			Key:    record.Key{Name: "pool", Type: record.A, SetID: fmt.Sprintf("i-%d", i)},
			Weight: 10 + i, TTL: 60, Values: []string{fmt.Sprintf("10.0.0.%d", i)}}})
	}
	if _, err := reg.Apply(ctx, "lb.test", changes); err != nil {
		b.Fatal(err)
	}
	rrl := dnsserver.DefaultRRL() // on, as serve runs, with the client exempt (bench/run.sh's way)
	rrl.Exempt = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	srv, err := dnsserver.New(dnsserver.Config{Addr: "127.0.0.1:0", Snapshot: reg, RRL: &rrl})
	if err != nil {
		b.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		b.Fatal(err)
	}
	dnsDone := make(chan error, 1)
	go func() { dnsDone <- srv.Run(ctx) }()
	b.Cleanup(func() { cancel(); <-dnsDone; <-regDone })
	return srv.Addr()
}

// roundTrip returns a function that sends one query for pool.lb.test A
// over its own connected UDP socket and reads the answer.
func roundTrip(b *testing.B, addr string) func() {
	c, err := net.Dial("udp", addr)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	m := new(dns.Msg)
	m.SetQuestion("pool.lb.test.", dns.TypeA)
	q, _ := m.Pack()
	buf := make([]byte, 1500)
	return func() {
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Write(q); err != nil {
			b.Error(err)
			return
		}
		n, err := c.Read(buf)
		if err != nil || n < 12 || buf[3]&0xF != dns.RcodeSuccess {
			b.Errorf("reply: %d bytes, %v", n, err)
		}
	}
}
