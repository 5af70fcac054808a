package health

import (
	"testing"
	"time"
)

func TestHysteresis(t *testing.T) {
	tests := []struct {
		name       string
		rise, fall int
		initial    Status
		results    string // '+' pass, '-' failure
		want       string // status after each: 'U' up, 'D' down, '?' unknown
	}{
		{"up falls after 3 failures", 2, 3, Up, "----", "UUDD"},
		{"a pass resets the failures", 2, 3, Up, "--+---", "UUUUUD"},
		{"down rises after 2 passes", 2, 3, Down, "+++", "DUU"},
		{"a failure resets the passes", 2, 3, Down, "+-++", "DDDU"},
		{"flapping keeps up", 2, 3, Up, "+-+-+-+-+-", "UUUUUUUUUU"},
		{"flapping keeps down", 2, 3, Down, "-+-+-+-+-+", "DDDDDDDDDD"},
		{"flapping in pairs keeps down", 3, 3, Down, "++--++--++", "DDDDDDDDDD"},
		{"down and up again", 2, 3, Up, "---++---", "UUDDUUUD"},
		{"unknown rises", 2, 3, Unknown, "-++", "??U"},
		{"unknown falls", 2, 3, Unknown, "+---", "???D"},
		{"rise and fall 1 follow each result", 1, 1, Up, "-+-+", "DUDU"},
		{"thresholds below 1 count as 1", 0, -1, Unknown, "+-", "UD"},
	}
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Second) }
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := NewHysteresis(tt.rise, tt.fall, tt.initial, t0)
			prev, since := tt.initial, t0
			for i, r := range tt.results {
				changed := h.Observe(r == '+', at(i+1))
				want := statusOf(tt.want[i])
				if want != prev {
					since = at(i + 1)
				}
				gotStatus, gotSince := h.Status()
				if gotStatus != want || !gotSince.Equal(since) || changed != (want != prev) {
					t.Fatalf("after %q: status %s since %s, changed %v; want %s since %s, changed %v",
						tt.results[:i+1], gotStatus, gotSince.Format(time.TimeOnly), changed,
						want, since.Format(time.TimeOnly), want != prev)
				}
				prev = want
			}
		})
	}
}

// statusOf reads 'U', 'D' and '?' as statuses.
func statusOf(c byte) Status {
	switch c {
	case 'U':
		return Up
	case 'D':
		return Down
	}
	return Unknown
}

func TestStatusString(t *testing.T) {
	for s, want := range map[Status]string{Unknown: "unknown", Up: "up", Down: "down", Status(7): "Status(7)"} {
		if got := s.String(); got != want {
			t.Errorf("Status(%d).String() = %q, want %q", int(s), got, want)
		}
	}
}
