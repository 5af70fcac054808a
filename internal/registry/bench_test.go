package registry

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/zone"
)

// firstRand always draws 0: a weighted choice then takes the first eligible
// set in set-id order, so one lookup tells whether set "a" is eligible.
type firstRand struct{}

func (firstRand) Uint64N(uint64) uint64 { return 0 }

// answered reports whether the published snapshot would answer www with
// the set whose only value is addr.
func (h *harness) answered(addr string) bool {
	var res zone.Result
	h.reg.Load().Lookup("www.lb.test.", dns.TypeA, firstRand{}, &res)
	for _, rr := range res.Answer {
		if a, ok := rr.(*dns.A); ok && a.A.String() == addr {
			return true
		}
	}
	return false
}

// waitAnswered waits, on publish notifications, until answered(addr) == want.
func (h *harness) waitAnswered(addr string, want bool) {
	deadline := time.After(30 * time.Second)
	for {
		c := h.reg.pub.published()
		if h.answered(addr) == want {
			return
		}
		select {
		case <-c:
		case <-deadline:
			h.t.Fatalf("%s never became answered=%v", addr, want)
		}
	}
}

// BenchmarkHealthFailToRemoval measures the time from a backend starting to
// fail its health endpoint to its set leaving the published answers, with
// a 100ms check interval and fall 1 (expect about half an interval plus a
// probe).
func BenchmarkHealthFailToRemoval(b *testing.B) {
	h := newHarness(b, func(o *Options) { o.Now, o.Checks = time.Now, allowLoopback })
	be := newBackend(b, "127.0.0.23")
	s := wset("a", 10, "127.0.0.23")
	s.Check = &record.Check{Target: be.srv.URL + "/health", Interval: record.Duration(100 * time.Millisecond),
		Timeout: record.Duration(50 * time.Millisecond), Rise: 1, Fall: 1}
	h.put(s)
	h.put(wset("b", 10, "127.0.0.24"))
	var total time.Duration
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		be.healthy.Store(false)
		h.waitAnswered("127.0.0.23", false)
		total += time.Since(start)
		be.healthy.Store(true)
		h.waitAnswered("127.0.0.23", true)
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/removal")
}

// BenchmarkDrainToLeave measures the time from a drain call to the set
// leaving the published answers (one fsynced write and a snapshot build).
func BenchmarkDrainToLeave(b *testing.B) {
	h := newHarness(b, func(o *Options) { o.Now = time.Now })
	h.put(wset("z", 10, "127.0.0.99"))
	ctx := context.Background()
	var total time.Duration
	b.ResetTimer()
	for i := range b.N {
		id := fmt.Sprintf("a%09d", i)
		addr := fmt.Sprintf("127.1.%d.%d", i/250%250, i%250+1)
		h.put(wset(id, 10, addr))
		start := time.Now()
		done := make(chan error, 1)
		go func() {
			_, err := h.reg.Drain(ctx, key(id), 0, false)
			done <- err
		}()
		h.waitAnswered(addr, false)
		total += time.Since(start)
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		// The harness never ticks, so the drained set stays; a name holds
		// at most 100 weighted sets.
		if _, err := h.reg.Apply(ctx, "lb.test", []Change{{Action: Delete, Set: wset(id, 0, "")}}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(total.Microseconds())/float64(b.N)/1000, "ms/leave")
}

// BenchmarkApplyBatch is one batch of 1,000 changes, each a new weighted
// set of one of 10 names (100 sets each, the most a name may have),
// committed and published. The rules spanning a name's sets are checked
// on the batch's final state, from sets read once per name: reading them
// from the store for every change made this quadratic.
func BenchmarkApplyBatch(b *testing.B) {
	h := newHarness(b, nil)
	ctx := context.Background()
	for i := range b.N {
		changes := make([]Change, 0, MaxChanges)
		for n := range 10 {
			for s := range 100 {
				set := wset(fmt.Sprintf("s%d", s), 1+s, fmt.Sprintf("10.%d.%d.%d", n, s, i%250))
				set.Name = fmt.Sprintf("b%d-n%d", i, n)
				changes = append(changes, Change{Action: Upsert, Set: set})
			}
		}
		if _, err := h.reg.Apply(ctx, "lb.test", changes); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTick10kLeases is one lifecycle tick (every 250 ms in
// production) with 10,000 leased sets (100 names × 100, lease 15 s), each
// renewed every 5 s, the renewals spread over the ticks as agents' are.
// Nothing lapses. The tick runs on the registry loop and holds live.mu;
// on a server with one core it is also time the DNS loops wait for.
func BenchmarkTick10kLeases(b *testing.B) {
	h := newHarness(b, nil)
	ctx := context.Background()
	var keys []record.Key
	for n := range 100 {
		changes := make([]Change, 0, 100)
		for s := range 100 {
			set := leased(fmt.Sprintf("l%d", s), 15*time.Second)
			set.Name = fmt.Sprintf("n%d", n)
			set.Values = []string{fmt.Sprintf("10.9.%d.%d", n, s)}
			changes = append(changes, Change{Action: Upsert, Set: set})
			keys = append(keys, record.Key{Zone: "lb.test", Name: set.Name, Type: record.A, SetID: set.SetID})
		}
		if _, err := h.reg.Apply(ctx, "lb.test", changes); err != nil {
			b.Fatal(err)
		}
	}
	const perTick = 10000 / 20 // every set once in 5 s of 250 ms ticks
	next := 0
	renew := func() {
		h.clock.advance(250 * time.Millisecond)
		for range perTick {
			if _, err := h.reg.Renew(ctx, keys[next], nil); err != nil {
				b.Fatal(err)
			}
			next = (next + 1) % len(keys)
		}
	}
	for range 100 { // 25 s: every set's first deadline has come and gone
		renew()
		h.tick()
	}
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		renew()
		runtime.GC() // the renewals' garbage, not the tick's
		b.StartTimer()
		h.tick()
	}
	b.StopTimer()
	if got := testutil.ToFloat64(h.reg.metrics.leaseExpiries); got != 0 {
		b.Fatalf("%v leases lapsed", got)
	}
}
