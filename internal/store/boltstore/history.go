package boltstore

import (
	"sort"
	"sync"

	"github.com/dnslb/dnslb/internal/store"
)

// history is the in-memory log watchers follow: the events of the newest
// size revisions, oldest first. Every revision has at least one event, so
// the log is contiguous from its first event's revision to rev.
type history struct {
	size int64

	mu      sync.Mutex
	rev     int64 // newest committed revision
	events  []store.Event
	changed chan struct{} // closed and replaced on every append
}

func newHistory(rev int64, size int) *history {
	return &history{size: int64(size), rev: rev, changed: make(chan struct{})}
}

// current returns the newest committed revision.
func (h *history) current() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.rev
}

// append logs the events of revision rev, drops revisions beyond the size
// and wakes the watchers. Revisions must come in commit order.
func (h *history) append(rev int64, events []store.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.rev = rev
	h.events = append(h.events, events...)
	oldest := rev - h.size + 1
	drop := sort.Search(len(h.events), func(i int) bool { return h.events[i].Rev >= oldest })
	// Reslicing keeps the cost per append constant; the dropped head is
	// freed when append next grows the array.
	clear(h.events[:drop])
	h.events = h.events[drop:]
	close(h.changed)
	h.changed = make(chan struct{})
}

// since returns a copy of the events with revision above rev: at least
// limit of them when there are that many, extended to the end of the last
// revision so a revision is never split. With nothing to return it gives a
// channel closed by the next append. It fails with store.ErrCompacted when
// events after rev are no longer kept.
func (h *history) since(rev int64, limit int) ([]store.Event, <-chan struct{}, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if rev >= h.rev {
		return nil, h.changed, nil
	}
	if len(h.events) == 0 || h.events[0].Rev > rev+1 {
		return nil, nil, store.ErrCompacted
	}
	i := sort.Search(len(h.events), func(i int) bool { return h.events[i].Rev > rev })
	j := min(i+limit, len(h.events))
	for j < len(h.events) && h.events[j].Rev == h.events[j-1].Rev {
		j++
	}
	return append([]store.Event(nil), h.events[i:j]...), nil, nil
}
