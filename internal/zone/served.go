package zone

import (
	"sync/atomic"
	"time"
)

// Served counts the answers a record set was put in and remembers the last
// one. It outlives snapshots: the registry owns one per set and every
// snapshot points to it, so a drain can know when the set was last handed
// out. Safe for concurrent use.
type Served struct {
	last  atomic.Int64 // unix nanoseconds
	count atomic.Uint64
}

// Record notes an answer at t.
func (s *Served) Record(t time.Time) {
	s.last.Store(t.UnixNano())
	s.count.Add(1)
}

// Last is when the set was last served, or the zero time.
func (s *Served) Last() time.Time {
	if n := s.last.Load(); n != 0 {
		return time.Unix(0, n)
	}
	return time.Time{}
}

// Count is how many answers held the set.
func (s *Served) Count() uint64 { return s.count.Load() }
