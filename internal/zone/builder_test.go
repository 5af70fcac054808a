package zone

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/dnslb/dnslb/internal/record"
)

type zeroRand struct{}

func (zeroRand) Uint64N(uint64) uint64 { return 0 }

// dump is every answer a snapshot gives for the names and types asked.
func dump(s *Snapshot, names []string) string {
	var b strings.Builder
	for _, name := range names {
		for _, t := range []uint16{dns.TypeA, dns.TypeTXT, dns.TypeSOA} {
			var res Result
			s.Lookup(name, t, zeroRand{}, &res)
			fmt.Fprintf(&b, "%s %d kind=%d", name, t, res.Kind)
			for _, rr := range res.Answer {
				if soa, ok := rr.(*dns.SOA); ok { // the serial follows the zone's last change
					c := *soa
					c.Serial = 0
					rr = &c
				}
				fmt.Fprintf(&b, " [%s]", rr)
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}

// TestBuilderIncrementalMatchesFull applies random changes to a Builder,
// snapshot after snapshot, and checks each against a snapshot built from
// scratch from the same data.
func TestBuilderIncrementalMatchesFull(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	z := record.NewZone("lb.test.")
	// A name server with an address keeps its name (and the empty
	// non-terminal above it) in existence whatever sets come and go.
	z.NS = append(z.NS, "c.b.a.lb.test.")
	z.NSAddresses = map[string][]string{"c.b.a.lb.test.": {"192.0.2.53"}}
	names := []string{"lb.test.", "a.lb.test.", "b.a.lb.test.", "c.b.a.lb.test.", "d.lb.test.", "e.d.lb.test.", "x.lb.test.", "gone.lb.test."}
	b := NewBuilder()
	b.PutZone(z)
	sets := map[record.Key]record.Set{}
	down := map[record.Key]bool{}
	hooks := Hooks{Eligible: func(s *record.Set) bool { return !down[s.Key] }}
	for step := range 400 {
		name := names[1+rnd.IntN(len(names)-1)]
		k := record.Key{Zone: z.Name, Name: name, Type: record.A, SetID: fmt.Sprint("s", rnd.IntN(3))}
		if rnd.IntN(5) == 0 {
			k.Type, k.SetID = record.TXT, ""
		}
		switch op := rnd.IntN(10); {
		case op < 5:
			s := record.Set{Key: k, Weight: rnd.IntN(3) * 10, TTL: 60, Values: []string{fmt.Sprintf("10.0.%d.%d", step/250, step%250+1)}, State: record.Active}
			if k.Type == record.TXT {
				s.Values = []string{fmt.Sprint("t", step)}
			}
			if rnd.IntN(6) == 0 {
				s.State = record.Draining
			}
			sets[k] = s
			b.PutSet(s)
		case op < 8:
			delete(sets, k)
			b.DeleteSet(k)
		case op < 9:
			down[k] = !down[k]
			b.Touch(k)
		default:
			if z.Policies == nil {
				z.Policies = map[string]record.Policy{"gone.lb.test.": record.FailClosed}
			} else {
				z.Policies = nil
			}
			b.PutZone(z)
		}
		inc := b.Snapshot(int64(step+1), hooks)
		var all []record.Set
		for _, s := range sets {
			all = append(all, s)
		}
		sort.Slice(all, func(i, j int) bool { return all[i].Key.String() < all[j].Key.String() })
		full := Build(Input{Rev: int64(step + 1), Zones: []record.Zone{z}, Sets: all, Eligible: hooks.Eligible})
		if got, want := dump(inc, names), dump(full, names); got != want {
			t.Fatalf("step %d: incremental snapshot differs from a full build\nincremental:\n%s\nfull:\n%s", step, got, want)
		}
	}
}

// BenchmarkRebuildOneChange100k measures a snapshot after one change in a
// zone of 100,000 record sets (10,000 weighted names × 10 sets): it must
// cost in proportion to the change, not the zone (compare BenchmarkBuild100k).
func BenchmarkRebuildOneChange100k(b *testing.B) {
	bl := NewBuilder()
	bl.PutZone(record.NewZone("lb.test."))
	for n := range 10000 {
		for i := range 10 {
			bl.PutSet(record.Set{Key: record.Key{Zone: "lb.test.", Name: fmt.Sprintf("n%d.lb.test.", n), Type: record.A, SetID: fmt.Sprint("s", i)},
				Weight: 10, TTL: 60, Values: []string{fmt.Sprintf("10.%d.%d.%d", n/256%256, n%256, i)}, State: record.Active})
		}
	}
	bl.Snapshot(1, Hooks{})
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		bl.PutSet(record.Set{Key: record.Key{Zone: "lb.test.", Name: fmt.Sprintf("n%d.lb.test.", i%10000), Type: record.A, SetID: "s0"},
			Weight: 20, TTL: 60, Values: []string{"10.9.9.9"}, State: record.Active})
		bl.Snapshot(int64(i+1), Hooks{})
	}
}
