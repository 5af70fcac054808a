package boltstore

import (
	"context"

	"github.com/dnslb/dnslb/internal/store"
)

// watchBatch is about how many events a watcher copies from the log at a
// time: it bounds a slow watcher's memory and how long it holds the log.
const watchBatch = 256

// Watch delivers every change committed after revision from (store.FromNow: from now)
// in order; see store.Store. Each watcher follows the in-memory log in its
// own goroutine, so a slow watcher never holds up Update; one that falls
// more than Options.WatchHistory revisions behind gets store.ErrCompacted.
// The events' slices, maps and pointers are shared between watchers: treat
// them as read-only.
func (s *Store) Watch(ctx context.Context, from int64) <-chan store.Event {
	ch := make(chan store.Event)
	s.life.RLock()
	defer s.life.RUnlock()
	if s.closed || ctx.Err() != nil {
		close(ch)
		return ch
	}
	if from == store.FromNow {
		from = s.hist.current()
	}
	s.watchers.Add(1)
	go func() {
		defer s.watchers.Done()
		defer close(ch)
		s.follow(ctx, from, ch)
	}()
	return ch
}

// follow sends the events after rev until ctx ends or the store closes.
func (s *Store) follow(ctx context.Context, rev int64, ch chan<- store.Event) {
	for {
		batch, changed, err := s.hist.since(rev, watchBatch)
		if err != nil {
			s.log.Debug("watcher fell behind the watch history", "revision", rev, "err", err)
			s.send(ctx, ch, store.Event{Err: err})
			return
		}
		for _, ev := range batch {
			if !s.send(ctx, ch, ev) {
				return
			}
			rev = ev.Rev
		}
		if changed != nil && !s.wait(ctx, changed) {
			return
		}
	}
}

// send delivers ev unless ctx ends or the store closes first.
func (s *Store) send(ctx context.Context, ch chan<- store.Event, ev store.Event) bool {
	select {
	case ch <- ev:
		return true
	case <-ctx.Done():
	case <-s.done:
	}
	return false
}

// wait blocks until changed is closed, reporting false if ctx ends or the
// store closes first.
func (s *Store) wait(ctx context.Context, changed <-chan struct{}) bool {
	select {
	case <-changed:
		return true
	case <-ctx.Done():
	case <-s.done:
	}
	return false
}
