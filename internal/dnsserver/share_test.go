package dnsserver_test

import (
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/miekg/dns"

	"github.com/dnslb/dnslb/internal/dnsserver"
	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/zone"
)

// lockedRand is a seeded selector.Rand safe for the server's goroutines.
type lockedRand struct {
	mu sync.Mutex
	r  *rand.Rand
}

func (l *lockedRand) Uint64N(n uint64) uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Uint64N(n)
}

// Answer shares through the real server match the weights: a chi-square
// test at p = 0.001 (one degree of freedom: 10.828).
func TestWeightedShare(t *testing.T) {
	const (
		z       = "lb.test."
		queries = 4000
		chi2max = 10.828
	)
	in := zone.Input{Zones: []record.Zone{record.NewZone(z)}, Sets: []record.Set{
		set(z, "pool.lb.test.", record.A, "light", 10, "10.0.0.1"),
		set(z, "pool.lb.test.", record.A, "heavy", 30, "10.0.0.2"),
	}}
	rnd := &lockedRand{r: rand.New(rand.NewPCG(7, 11))}
	ts := start(t, zone.Build(in), func(c *dnsserver.Config) { c.Rand = rnd })
	conn, err := (&dns.Client{Net: "udp"}).Dial(ts.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	got := map[string]int{}
	for i := range queries {
		q := query("pool.lb.test.", dns.TypeA)
		q.Id = uint16(i)
		if err := conn.WriteMsg(q); err != nil {
			t.Fatal(err)
		}
		r, err := conn.ReadMsg()
		if err != nil {
			t.Fatal(err)
		}
		if r.Id != q.Id || len(r.Answer) != 1 {
			t.Fatalf("reply %d to query %d: %v", r.Id, q.Id, r.Answer)
		}
		got[r.Answer[0].(*dns.A).A.String()]++
	}
	want := map[string]float64{"10.0.0.1": queries * 10.0 / 40, "10.0.0.2": queries * 30.0 / 40}
	var chi2 float64
	for ip, e := range want {
		d := float64(got[ip]) - e
		chi2 += d * d / e
	}
	t.Logf("shares %v, chi-square %.2f", got, chi2)
	if chi2 > chi2max || got["10.0.0.1"]+got["10.0.0.2"] != queries {
		t.Errorf("answers %v for weights 10/30: chi-square %.2f > %.3f", got, chi2, chi2max)
	}
}
