package registry

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/store"
)

// Agent-reported health lives in memory (the lease engine), like renewals:
// a report comes with every renewal. Its transitions, though, are written
// to the store (record.Set.AgentHealth), so that a restarted server keeps a
// set that reported down out of answers instead of forgetting the report.
// Transitions are noted under leases.mu, on the renewal and heartbeat
// paths, and written by reports.run, off that lock; a burst for one set is
// one write of its last value. That write keeps Created and Updated, so the
// watch does not take it for a registration (rewrittenOnly): it renews no
// lease and brings back no lapsed set.

// reports queues agent-reported health transitions for the store. Its
// state is guarded by mu; run owns the writing.
type reports struct {
	log     *slog.Logger
	mu      sync.Mutex
	pending map[record.Key]bool // newest report of each set not yet written
	busy    bool                // run is writing a batch taken from pending
	doneC   chan struct{}       // closed and replaced after each batch
	wake    chan struct{}
	noted   func([]record.Transition) // written transitions, for the timeline (set by wireHistory)
	now     func() time.Time          // the registry's clock (set by wireHistory)
}

func newReports(log *slog.Logger) *reports {
	return &reports{log: log, pending: map[record.Key]bool{}, doneC: make(chan struct{}), wake: make(chan struct{}, 1)}
}

// note queues the report healthy of set k, which changed. It logs the
// transition (one line each) and never blocks.
func (p *reports) note(k record.Key, healthy bool) {
	p.log.Info("agent reported health changed", "set", k.String(), "zone", k.Zone, "status", healthText(healthy))
	p.mu.Lock()
	p.pending[k] = healthy
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// run writes queued transitions to st until ctx ends.
func (p *reports) run(ctx context.Context, st store.Store) {
	for {
		select {
		case <-p.wake:
			p.writeBatch(ctx, st)
		case <-ctx.Done():
			return
		}
	}
}

// writeBatch writes what is pending, one transaction per set.
func (p *reports) writeBatch(ctx context.Context, st store.Store) {
	p.mu.Lock()
	batch := p.pending
	p.pending, p.busy = map[record.Key]bool{}, true
	p.mu.Unlock()
	for k, healthy := range batch {
		if err := p.write(ctx, st, k, healthy); err != nil && ctx.Err() == nil {
			p.log.Error("recording agent-reported health failed; a restart will forget it", "set", k.String(), "zone", k.Zone, "err", err)
		}
	}
	p.mu.Lock()
	p.busy = false
	close(p.doneC)
	p.doneC = make(chan struct{})
	p.mu.Unlock()
}

// write stores healthy as set k's AgentHealth, unless the set is gone or
// has it already, and notes the transition in the history.
func (p *reports) write(ctx context.Context, st store.Store, k record.Key, healthy bool) error {
	want := healthText(healthy)
	n := &notes{by: "agent"}
	rev, err := st.Update(ctx, func(tx store.Tx) error {
		n.reset()
		set, err := tx.Set(k)
		if err != nil || set.AgentHealth == want {
			return err
		}
		set.AgentHealth = want
		if err := tx.PutSet(set); err != nil {
			return err
		}
		return n.note(tx, agentHealthTransition(k, healthy, p.clock()))
	})
	if err == nil && p.noted != nil && len(n.trs) > 0 {
		for i := range n.trs {
			n.trs[i].Revision = rev
		}
		p.noted(n.trs)
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil // deleted meanwhile: nothing to remember
	}
	return err
}

// flush waits until every transition noted so far is written (tests).
func (p *reports) flush(ctx context.Context) error {
	for {
		p.mu.Lock()
		idle, c := len(p.pending) == 0 && !p.busy, p.doneC
		p.mu.Unlock()
		if idle {
			return nil
		}
		select {
		case <-c:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func healthText(healthy bool) string {
	if healthy {
		return "up"
	}
	return "down"
}

// restoreReported takes the stored report of set into l, the set's lease,
// when l has none yet (after a restart). Callers hold leases.mu.
func restoreReported(l *lease, set *record.Set) {
	if l.reported >= 0 || set.AgentHealth == "" {
		return
	}
	l.reported = 0
	if set.AgentHealth == "up" {
		l.reported = 1
	}
}

func (p *reports) clock() time.Time {
	if p.now == nil {
		return time.Now()
	}
	return p.now()
}

// writeReport is write without a timeline to tell.
func writeReport(ctx context.Context, st store.Store, k record.Key, healthy bool) error {
	return (&reports{}).write(ctx, st, k, healthy)
}
