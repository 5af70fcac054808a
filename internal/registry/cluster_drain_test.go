package registry

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/dnslb/dnslb/internal/record"
)

// sharedServed is the drain reports of a trio, as package cluster keeps
// them in etcd; a muted server's reports wait until release.
type sharedServed struct {
	mu      sync.Mutex
	marks   map[record.Key]map[int]servedMark
	mute    map[int]bool
	pending []func()
}

// release delivers the reports of server i held back so far.
func (s *sharedServed) release(i int) {
	s.mu.Lock()
	s.mute[i] = false
	pending := s.pending
	s.pending = nil
	s.mu.Unlock()
	for _, f := range pending {
		f()
	}
}

type servedMark struct{ started, held time.Time }

// servedView is server self's view of sharedServed.
type servedView struct {
	s    *sharedServed
	self int
}

func (v servedView) Report(k record.Key, started, held time.Time) {
	v.s.mu.Lock()
	defer v.s.mu.Unlock()
	if v.s.mute[v.self] {
		v.s.pending = append(v.s.pending, func() { v.Report(k, started, held) })
		return
	}
	if v.s.marks[k] == nil {
		v.s.marks[k] = map[int]servedMark{}
	}
	v.s.marks[k][v.self] = servedMark{started, held}
}

func (v servedView) Held(k record.Key, started time.Time) (until time.Time, all bool) {
	v.s.mu.Lock()
	defer v.s.mu.Unlock()
	all = true
	for i := range 3 {
		m, ok := v.s.marks[k][i]
		if !ok || !m.started.Equal(started) {
			all = false
			continue
		}
		if m.held.After(until) {
			until = m.held
		}
	}
	return until, all
}

func (v servedView) Forget(k record.Key) {
	v.s.mu.Lock()
	defer v.s.mu.Unlock()
	delete(v.s.marks[k], v.self)
}

// TestClusterDrainWaitsForEveryServersAnswers: a drain is safe at the
// latest time any server's answers may be held, plus the margin, once
// every live server reported; until then it waits, up to the drain's own
// bound, and only the leader finishes it.
func TestClusterDrainWaitsForEveryServersAnswers(t *testing.T) {
	tr := newTrio(t)
	tr.regs[1].SetLeading(true)
	tr.put(0, wset("a", 10, "127.0.1.1"))
	start := tr.clock.Now()
	tr.regs[0].pub.servedOf(key("a")).Record(start, 60)                     // held until start+60s
	tr.regs[2].pub.servedOf(key("a")).Record(start.Add(10*time.Second), 60) // until start+70s
	tr.served.mu.Lock()
	tr.served.mute[2] = true // server 2's report is lost for now
	tr.served.mu.Unlock()
	tr.clock.advance(20 * time.Second)
	if _, err := tr.regs[0].Drain(context.Background(), key("a"), 5*time.Second, false); err != nil {
		t.Fatal(err)
	}
	tr.sync()
	bound := start.Add(20*time.Second + 60*time.Second + 5*time.Second)
	if st, err := tr.regs[1].DrainStatus(context.Background(), key("a")); err != nil || !st.SafeAt.Equal(bound) {
		t.Fatalf("safe_at while server 2 has not reported: %v, %v; want the drain's bound %v", st.SafeAt, err, bound)
	}
	tr.clock.advance(59 * time.Second) // start+79s: past server 0's answers, before server 2's are safe
	tr.tick()
	tr.want("a", "draining")
	tr.served.release(2)
	want := start.Add(75 * time.Second)
	if st, _ := tr.regs[0].DrainStatus(context.Background(), key("a")); !st.SafeAt.Equal(want) {
		t.Fatalf("safe_at: %v, want %v (server 2's last answer + TTL + margin)", st.SafeAt, want)
	}
	tr.tick()
	tr.want("a", "gone")
}
