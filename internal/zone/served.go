package zone

import (
	"sync/atomic"
	"time"
)

// Served counts the answers a record set was put in and remembers the last
// one, and how long a resolver may hold the answers served so far. It
// outlives snapshots: the registry owns one per set and every snapshot
// points to it, so a drain can know when the set was last handed out and
// with which TTL. Safe for concurrent use; Record neither allocates nor
// locks.
type Served struct {
	last  atomic.Int64  // unix nanoseconds
	held  atomic.Int64  // largest served_at + TTL, unix milliseconds rounded up
	ttl   atomic.Uint32 // TTL of the answer that set held
	count atomic.Uint64
}

// Record notes an answer at t with TTL ttl.
func (s *Served) Record(t time.Time, ttl uint32) {
	n := t.UnixNano()
	s.last.Store(n)
	s.count.Add(1)
	s.hold(n, ttl)
}

// Assume raises Held to until, as if an answer with ttl that resolvers may
// hold until then had been served, without counting an answer. After a
// restart the answers the previous process served are unknown, but none
// outlives its stop plus the TTL.
func (s *Served) Assume(until time.Time, ttl uint32) {
	s.hold(until.Add(-time.Duration(ttl)*time.Second).UnixNano(), ttl)
}

// hold raises held to the end of the answer served at unix nanoseconds n
// with ttl, if that is later. Milliseconds make it change at most once a
// millisecond per TTL, so a popular set's answers mostly only read it.
// The TTL is stored after the end it goes with, so two answers racing
// may leave the TTL of the other: Held's TTL is for display, and a drain
// bounds itself by the held time too.
func (s *Served) hold(n int64, ttl uint32) {
	until := (n+int64(time.Millisecond)-1)/int64(time.Millisecond) + int64(ttl)*1000
	for {
		cur := s.held.Load()
		if until <= cur {
			return
		}
		if s.held.CompareAndSwap(cur, until) {
			s.ttl.Store(ttl)
			return
		}
	}
}

// Last is when the set was last served, or the zero time.
func (s *Served) Last() time.Time {
	if n := s.last.Load(); n != 0 {
		return time.Unix(0, n)
	}
	return time.Time{}
}

// Held is until when a resolver may hold an answer with the set: the
// largest served_at + TTL over every answer served, with the TTL of that
// answer. An answer with a long TTL served long ago no longer counts once
// a later answer with a shorter TTL expires after it. The zero time means
// the set was never served.
func (s *Served) Held() (until time.Time, ttl uint32) {
	ms := s.held.Load()
	if ms == 0 {
		return time.Time{}, 0
	}
	return time.UnixMilli(ms), s.ttl.Load()
}

// Count is how many answers held the set.
func (s *Served) Count() uint64 { return s.count.Load() }
