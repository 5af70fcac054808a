package registry

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/dnslb/dnslb/internal/record"
)

// ballot records the votes a registry publishes.
type ballot struct {
	mu  sync.Mutex
	log []string
}

func (b *ballot) Vote(k record.Key, up bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.log = append(b.log, k.SetID+"="+healthText(up))
}

func (b *ballot) Withdraw(k record.Key) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.log = append(b.log, k.SetID+" withdrawn")
}

func (b *ballot) votes() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.log...)
}

// TestQuorumVerdictDecidesAnswers: in a cluster a server publishes its
// own check verdicts (its presumption at start, then each transition)
// and answers from the cluster's verdict when there is one, its own
// otherwise; a deleted set's vote is withdrawn.
func TestQuorumVerdictDecidesAnswers(t *testing.T) {
	b := &ballot{}
	h := newHarness(t, func(o *Options) { o.Now, o.Checks, o.Votes = time.Now, allowLoopback, b })
	be := newBackend(t, "127.0.0.31")
	s := wset("a", 10, "127.0.0.31")
	s.Check = shortCheck(be.srv.URL + "/health")
	h.put(s)
	h.put(wset("b", 10, "127.0.0.32"))
	be.healthy.Store(false)
	h.waitStatus("a", func(s record.Status) bool { return s.Health == "down" && !s.Eligible })
	h.reg.SetVerdict(key("a"), &Verdict{Up: true, UpVotes: 2, Observers: 3})
	if err := h.reg.publishTouched(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st, _ := h.status("a"); st.Health != "up (2 of 3 servers say up)" || !st.Eligible {
		t.Fatalf("with the cluster's verdict up, though this server says down: %+v", st)
	}
	h.reg.SetVerdict(key("a"), nil)
	if err := h.reg.publishTouched(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st, _ := h.status("a"); st.Health != "down" || st.Eligible {
		t.Fatalf("without a cluster verdict: %+v", st)
	}
	if _, err := h.reg.Apply(context.Background(), "lb.test", []Change{{Action: Delete, Set: wset("a", 10, "")}}); err != nil {
		t.Fatal(err)
	}
	want := []string{"a=up", "a=down", "a withdrawn"}
	got := b.votes()
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("votes %q, want %q", got, want)
	}
}

// TestVerdictTurnsNotedOnce: in a cluster every server gets the same
// verdict; its turn is noted in the history once, by the deciding server,
// with the tally; a verdict that does not turn, or the first one a server
// gets, notes nothing.
func TestVerdictTurnsNotedOnce(t *testing.T) {
	tr := newTrio(t)
	tr.regs[0].SetLeading(true)
	tr.put(0, leased("a", time.Hour))
	k := key("a")
	for _, v := range []Verdict{{Up: true, UpVotes: 3, Observers: 3}, {Up: true, UpVotes: 2, Observers: 3},
		{Up: false, UpVotes: 1, Observers: 3}, {Up: false, UpVotes: 0, Observers: 3}} {
		for _, reg := range tr.regs {
			reg.SetVerdict(k, &v)
		}
	}
	var got []record.Transition
	deadline := time.Now().Add(10 * time.Second)
	for {
		trs, err := tr.regs[1].History(context.Background(), "lb.test", "www", "A", "a")
		if err != nil {
			t.Fatal(err)
		}
		got = nil
		for _, x := range trs {
			if x.Event == record.EventHealthDown || x.Event == record.EventHealthUp {
				got = append(got, x)
			}
		}
		if len(got) > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // a follower's entry, were one written, would be there by now
	trs, err := tr.regs[1].History(context.Background(), "lb.test", "www", "A", "a")
	if err != nil {
		t.Fatal(err)
	}
	got = got[:0]
	for _, x := range trs {
		if x.Event == record.EventHealthDown || x.Event == record.EventHealthUp {
			got = append(got, x)
		}
	}
	if len(got) != 1 || got[0].Event != record.EventHealthDown || got[0].Detail != "server-side check, down (1 of 3 servers say up)" {
		t.Fatalf("health in the history: %+v; want one health-down with the tally", got)
	}
}
