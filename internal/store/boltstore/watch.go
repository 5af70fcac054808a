package boltstore

import (
	"context"

	"github.com/dnslb/dnslb/internal/store"
)

// Watch delivers every change committed after revision from (0: from now)
// in order; see store.Store. Each watcher follows the in-memory log in its
// own goroutine, so a slow watcher never holds up a writer; one that falls
// behind the log's history gets store.ErrCompacted.
func (s *Store) Watch(ctx context.Context, from int64) <-chan store.Event {
	ch := make(chan store.Event)
	s.mu.Lock()
	if from == 0 || from > s.rev {
		from = s.rev
	}
	if s.closed {
		s.mu.Unlock()
		close(ch)
		return ch
	}
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		defer close(ch)
		s.follow(ctx, from, ch)
	}()
	return ch
}

// follow sends the events after rev until ctx ends or the store closes.
func (s *Store) follow(ctx context.Context, rev int64, ch chan<- store.Event) {
	for {
		batch, changed, err := s.after(rev)
		if err != nil {
			send(ctx, s.done, ch, store.Event{Err: err})
			return
		}
		for _, ev := range batch {
			if !send(ctx, s.done, ch, ev) {
				return
			}
			rev = ev.Rev
		}
		if len(batch) > 0 {
			continue
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return
		case <-s.done:
			return
		}
	}
}

// after returns a copy of the logged events with revision > rev and the
// channel that closes on the next append. It fails with ErrCompacted when
// events after rev are no longer kept.
func (s *Store) after(rev int64) ([]store.Event, <-chan struct{}, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rev >= s.rev {
		return nil, s.changed, nil
	}
	if len(s.events) == 0 || s.events[0].Rev > rev+1 {
		return nil, nil, store.ErrCompacted
	}
	i := 0
	for i < len(s.events) && s.events[i].Rev <= rev {
		i++
	}
	return append([]store.Event(nil), s.events[i:]...), s.changed, nil
}

func send(ctx context.Context, done <-chan struct{}, ch chan<- store.Event, ev store.Event) bool {
	select {
	case ch <- ev:
		return true
	case <-ctx.Done():
	case <-done:
	}
	return false
}
