package etcdstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/store"
)

var keysOnlyOpts = []clientv3.OpOption{clientv3.WithKeysOnly()}

// rewatchWait is how long a watch waits before it starts again after etcd
// ended it (no leader, connection lost).
// It doubles up to maxRewatchWait while etcd stays away.
const (
	rewatchWait    = 200 * time.Millisecond
	maxRewatchWait = 2 * time.Second
)

// Watch follows the log key from revision from. The channel is closed when
// ctx ends or the store closes; a compacted revision ends it with one
// Event carrying store.ErrCompacted.
func (s *Store) Watch(ctx context.Context, from int64) <-chan store.Event {
	ch := make(chan store.Event)
	if from == store.FromNow {
		var err error
		if from, err = s.View(ctx, func(store.ReadTx) error { return nil }); err != nil {
			if ctx.Err() == nil && !errors.Is(err, store.ErrClosed) {
				ch = make(chan store.Event, 1) // room for the one terminal event
				ch <- store.Event{Err: err}
			}
			close(ch)
			return ch
		}
	}
	exit, err := s.enter(ctx)
	if err != nil {
		close(ch)
		return ch
	}
	defer exit()
	wctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(s.stopCtx, cancel)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(ch)
		defer stop()
		defer cancel()
		s.follow(wctx, ch, from)
	}()
	return ch
}

// follow delivers the events after revision from until ctx ends or the
// history is compacted; it watches again when etcd ends a watch.
func (s *Store) follow(ctx context.Context, ch chan<- store.Event, from int64) {
	wait := rewatchWait
	for ctx.Err() == nil {
		wctx := clientv3.WithRequireLeader(ctx)
		w := s.cli.Watch(wctx, s.keys.log(), clientv3.WithRev(from+1))
		last, err := s.deliver(ctx, ch, w, from)
		if errors.Is(err, store.ErrCompacted) {
			send(ctx, ch, store.Event{Rev: from, Err: err})
			return
		}
		if last > from || wait == rewatchWait { // once per outage, not per retry
			wait = rewatchWait
			if err != nil && ctx.Err() == nil {
				s.log.Warn("etcd watch ended; watching again until etcd answers", "after", last, "err", err)
			}
		}
		from = last
		select {
		case <-time.After(wait):
		case <-ctx.Done():
		}
		wait = min(2*wait, maxRewatchWait)
	}
}

// deliver sends the events of w and returns the last revision sent, and
// why w ended.
func (s *Store) deliver(ctx context.Context, ch chan<- store.Event, w clientv3.WatchChan, last int64) (int64, error) {
	for resp := range w {
		if resp.CompactRevision != 0 || errors.Is(resp.Err(), rpctypes.ErrCompacted) {
			return last, fmt.Errorf("watch from revision %d: etcd compacted up to %d: %w", last+1, resp.CompactRevision, store.ErrCompacted)
		}
		if err := resp.Err(); err != nil {
			return last, err
		}
		for _, ev := range resp.Events {
			if ev.Type != clientv3.EventTypePut {
				continue // the log key deleted by hand: nothing of ours
			}
			events, err := decodeLog(ev.Kv.Value, ev.Kv.ModRevision)
			if err != nil {
				return last, fmt.Errorf("revision %d: %w", ev.Kv.ModRevision, err)
			}
			for _, e := range events {
				if !send(ctx, ch, e) {
					return last, ctx.Err()
				}
			}
			last = ev.Kv.ModRevision
		}
	}
	return last, ctx.Err()
}

func send(ctx context.Context, ch chan<- store.Event, ev store.Event) bool {
	select {
	case ch <- ev:
		return true
	case <-ctx.Done():
		return false
	}
}

// decodeLog turns a log value into the Events of revision rev.
func decodeLog(val []byte, rev int64) ([]store.Event, error) {
	var log []logEvent
	if err := json.Unmarshal(val, &log); err != nil {
		return nil, fmt.Errorf("etcdstore: decode events: %w", err)
	}
	out := make([]store.Event, len(log))
	for i, e := range log {
		ev, err := e.event(rev)
		if err != nil {
			return nil, err
		}
		ev.Last = i == len(log)-1
		out[i] = ev
	}
	return out, nil
}

func (e logEvent) event(rev int64) (store.Event, error) {
	ev := store.Event{Rev: rev, Kind: e.Kind}
	var err error
	switch e.Kind {
	case store.PutZone:
		ev.Zone, err = decodeZone(e.Val, rev)
	case store.PutSet:
		ev.Set, err = decodeSet(e.Val, rev)
	case store.DeleteZone:
		ev.Zone = record.Zone{Name: e.Name}
	case store.DeleteSet:
		if e.Key == nil {
			return ev, errors.New("etcdstore: delete-set event without a key")
		}
		ev.Set = record.Set{Key: *e.Key}
	default:
		return ev, fmt.Errorf("etcdstore: unknown event kind %d", e.Kind)
	}
	return ev, err
}
