package registry

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/dnslb/dnslb/internal/health"

	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/store"
)

// History: the transitions of record sets (registered, changed, drained,
// deleted, lapsed, healthy or not) are noted in the store's Journal when
// it has one (store.Journal), in the transaction of the change they
// describe. Transitions that change nothing stored (a lease lapsing, a
// server-side probe turning) are queued and written in batches by
// runJournal, one write per batch. Renewals write nothing.

// Actor is who changes the registry through a request (the API token's
// name), and what the request changed, for its audit line.
type Actor struct {
	Name string

	mu      sync.Mutex
	changes []record.Transition
}

type actorKey struct{}

// WithActor returns ctx carrying a: transitions made with it name a.Name
// and are added to a.Changes.
func WithActor(ctx context.Context, a *Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

func actorOf(ctx context.Context) *Actor {
	a, _ := ctx.Value(actorKey{}).(*Actor)
	return a
}

// Changes returns the transitions committed with a so far.
func (a *Actor) Changes() []record.Transition {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.changes)
}

func (a *Actor) add(trs []record.Transition) {
	a.mu.Lock()
	a.changes = append(a.changes, trs...)
	a.mu.Unlock()
}

// notes are the transitions of one transaction, noted as it goes and
// handed to the actor and the timeline once it commits.
type notes struct {
	by  string
	trs []record.Transition
}

// newNotes starts the notes of a transaction made with ctx.
func newNotes(ctx context.Context) *notes {
	n := &notes{}
	if a := actorOf(ctx); a != nil {
		n.by = a.Name
	}
	return n
}

// note writes tr to tx's journal (if the store keeps one), stamped with the
// actor unless tr has its own. An Update may run its function again: notes
// are reset by the caller each run (reset).
func (n *notes) note(tx store.Tx, tr record.Transition) error {
	if tr.By == "" {
		tr.By = n.by
	}
	n.trs = append(n.trs, tr)
	j, ok := tx.(store.Journal)
	if !ok {
		return nil
	}
	return j.Note(tr)
}

func (n *notes) reset() { n.trs = n.trs[:0] }

// committed hands the transitions of a transaction that committed as rev
// to the request's actor and the timeline.
func (r *Registry) committed(ctx context.Context, n *notes, rev int64) {
	if len(n.trs) == 0 {
		return
	}
	for i := range n.trs {
		n.trs[i].Revision = rev
	}
	if a := actorOf(ctx); a != nil {
		a.add(n.trs)
	}
	r.timeline.events(n.trs)
}

// putTransition describes the change from old (nil: none) to set, or
// reports false when nothing an operator would look for changed.
func putTransition(old *record.Set, set *record.Set, at record.Transition) (record.Transition, bool) {
	at.Key = set.Key
	if old == nil {
		at.Event, at.Detail = record.EventRegistered, fmt.Sprintf("weight %d, values %s", set.Weight, strings.Join(set.Values, " "))
		return at, true
	}
	var what []string
	if old.Weight != set.Weight {
		what = append(what, fmt.Sprintf("weight %d -> %d", old.Weight, set.Weight))
	}
	if !slices.Equal(old.Values, set.Values) {
		what = append(what, fmt.Sprintf("values %s -> %s", strings.Join(old.Values, " "), strings.Join(set.Values, " ")))
	}
	if old.TTL != set.TTL {
		what = append(what, fmt.Sprintf("ttl %d -> %d", old.TTL, set.TTL))
	}
	if old.Lease != set.Lease {
		what = append(what, fmt.Sprintf("lease %s -> %s", old.Lease.D(), set.Lease.D()))
	}
	if (old.Check == nil) != (set.Check == nil) {
		what = append(what, "health check "+map[bool]string{true: "added", false: "removed"}[set.Check != nil])
	}
	if old.State != set.State {
		what = append(what, fmt.Sprintf("state %s -> %s", old.State, set.State))
	}
	if len(what) == 0 {
		return at, false
	}
	at.Event, at.Detail = record.EventUpdated, strings.Join(what, ", ")
	return at, true
}

// History returns the transitions of the sets of name (relative to zone
// or absolute), oldest first, only those of type typ and set id setID
// when they are not empty. A store without a journal has none.
func (r *Registry) History(ctx context.Context, zone, name, typ, setID string) ([]record.Transition, error) {
	zoneName, err := record.ZoneName("zone", zone)
	if err != nil {
		return nil, err
	}
	name, t, err := parseFilter(zoneName, Filter{Name: name, Type: typ})
	if err != nil {
		return nil, err
	}
	if name == "" {
		return nil, record.Errorf("name", "is required")
	}
	var all []record.Transition
	_, err = r.store.View(ctx, func(tx store.ReadTx) error {
		if _, err := zoneOf(tx, zoneName); err != nil {
			return err
		}
		j, ok := tx.(store.Journal)
		if !ok {
			return nil
		}
		all, err = j.History(zoneName, name)
		return err
	})
	return slices.DeleteFunc(all, func(tr record.Transition) bool {
		return t != "" && tr.Key.Type != t || setID != "" && tr.Key.SetID != setID
	}), err
}

// journalQ queues transitions that change nothing stored, for runJournal.
// It never blocks: past maxQueued the oldest are dropped (and counted).
type journalQ struct {
	mu      sync.Mutex
	pending []record.Transition
	dropped int
	wake    chan struct{}
}

// maxQueued bounds the transitions waiting for the store.
const maxQueued = 10000

func newJournalQ() *journalQ { return &journalQ{wake: make(chan struct{}, 1)} }

// add queues tr.
func (q *journalQ) add(tr record.Transition) {
	if tr.By == "" {
		tr.By = record.ServerActor
	}
	q.mu.Lock()
	if len(q.pending) >= maxQueued {
		q.pending, q.dropped = q.pending[1:], q.dropped+1
	}
	q.pending = append(q.pending, tr)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *journalQ) take() ([]record.Transition, int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	trs, dropped := q.pending, q.dropped
	q.pending, q.dropped = nil, 0
	return trs, dropped
}

// runJournal writes queued transitions, a batch per write, until ctx ends.
func (r *Registry) runJournal(ctx context.Context) {
	for {
		select {
		case <-r.journal.wake:
		case <-ctx.Done():
			return
		}
		trs, dropped := r.journal.take()
		if dropped > 0 {
			r.log.Warn("history: transitions dropped; the store fell behind", "dropped", dropped)
		}
		r.writeJournal(ctx, trs)
	}
}

// writeJournal notes trs in one transaction, skipping those of zones gone
// since.
func (r *Registry) writeJournal(ctx context.Context, trs []record.Transition) {
	if len(trs) == 0 {
		return
	}
	r.timeline.events(trs)
	_, err := r.store.Update(ctx, func(tx store.Tx) error {
		j, ok := tx.(store.Journal)
		if !ok {
			return nil
		}
		for _, tr := range trs {
			if _, err := tx.Zone(tr.Key.Zone); err != nil {
				continue
			}
			if err := j.Note(tr); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil && ctx.Err() == nil {
		r.log.Error("history: writing transitions failed; they are lost", "transitions", len(trs), "err", err)
	}
}

// wireHistory connects the units that see transitions to the history.
func (r *Registry) wireHistory() {
	r.checks.noted = r.journal.add
	r.leases.noted = r.journal.add
	r.reports.noted, r.reports.now = r.timeline.events, r.now
}

// noteHealth queues a server-side check's transition to up or down.
func (c *checks) noteHealth(k record.Key, res health.Result, lastErr string) {
	if c.noted == nil || res.Status == health.Unknown {
		return
	}
	tr := record.Transition{At: res.Since, Key: k, Event: record.EventHealthUp, Detail: "server-side check"}
	if res.Status == health.Down {
		tr.Event = record.EventHealthDown
		if lastErr != "" {
			tr.Detail += ": " + lastErr
		}
	}
	if tr.At.IsZero() {
		tr.At = c.now()
	}
	c.noted(tr)
}

// noteLapse queues the lapse of l's lease. Callers hold e.mu.
func (e *leases) noteLapse(l *lease, now time.Time) {
	if e.noted == nil {
		return
	}
	e.noted(record.Transition{At: now, Key: l.key, Event: record.EventLeaseLapsed,
		Detail: fmt.Sprintf("no renewal since %s (lease %s); deleted at %s unless renewed", l.deadline.time().Add(-l.ttl).UTC().Format(time.RFC3339), l.ttl, l.expireAt.time().UTC().Format(time.RFC3339))})
}

// agentHealthTransition is an agent's report turning.
func agentHealthTransition(k record.Key, healthy bool, now time.Time) record.Transition {
	tr := record.Transition{At: now, Key: k, Event: record.EventHealthDown, Detail: "agent-reported"}
	if healthy {
		tr.Event = record.EventHealthUp
	}
	return tr
}

// drainTransition is the start of set's drain, safe at safe.
func drainTransition(set record.Set, safe time.Time) record.Transition {
	detail := "safe by " + safe.UTC().Format(time.RFC3339) + " at the latest"
	if set.Drain != nil && set.Drain.Keep {
		detail += "; then kept at weight 0"
	}
	return record.Transition{At: set.Updated, Key: set.Key, Event: record.EventDrainStarted, Detail: detail}
}

// forceText says what an operator override does.
func forceText(f record.Force) string {
	switch f {
	case record.ForceUp:
		return "health forced up"
	case record.ForceDown:
		return "health forced down"
	}
	return "health override cleared (checks decide)"
}
