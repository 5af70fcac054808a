package health

import (
	"fmt"
	"time"
)

// Status of a check.
type Status int

// Statuses of a check.
const (
	// Unknown: not enough results yet to say.
	Unknown Status = iota
	// Up: healthy.
	Up
	// Down: unhealthy.
	Down
)

// String returns "unknown", "up" or "down".
func (s Status) String() string {
	switch s {
	case Unknown:
		return "unknown"
	case Up:
		return "up"
	case Down:
		return "down"
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// Hysteresis applies rise/fall thresholds to probe results: Rise passes in a
// row make the status Up, Fall failures in a row make it Down, and anything
// else leaves it as it is, so a flapping result does not flap the status.
// The counts are kept apart from the probe (Consul's "successes before
// passing / failures before critical"). It is not safe for concurrent use: one
// loop owns it.
type Hysteresis struct {
	rise, fall    int
	passes, fails int // in a row, capped at rise and fall
	status        Status
	since         time.Time
}

// NewHysteresis returns a Hysteresis in status initial since now. Thresholds
// below 1 count as 1.
func NewHysteresis(rise, fall int, initial Status, now time.Time) *Hysteresis {
	return &Hysteresis{rise: max(rise, 1), fall: max(fall, 1), status: initial, since: now}
}

// Observe records one probe result at now and reports whether the status
// changed.
func (h *Hysteresis) Observe(ok bool, now time.Time) (changed bool) {
	if ok {
		h.fails, h.passes = 0, min(h.passes+1, h.rise)
		return h.move(Up, h.passes == h.rise, now)
	}
	h.passes, h.fails = 0, min(h.fails+1, h.fall)
	return h.move(Down, h.fails == h.fall, now)
}

// move sets the status to s at now when reached is true and s is new.
func (h *Hysteresis) move(s Status, reached bool, now time.Time) bool {
	if !reached || h.status == s {
		return false
	}
	h.status, h.since = s, now
	return true
}

// Status returns the status and the time it was entered (or the
// Hysteresis created).
func (h *Hysteresis) Status() (s Status, since time.Time) {
	return h.status, h.since
}
