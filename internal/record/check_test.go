package record

import (
	"testing"
	"time"
)

// TestCheckTimeoutFitsTheInterval: without a timeout, a check gets 2s or
// its interval when that is shorter (as the agent does), so a short
// interval alone is accepted.
func TestCheckTimeoutFitsTheInterval(t *testing.T) {
	for _, tc := range []struct{ interval, want time.Duration }{
		{time.Second, time.Second},
		{500 * time.Millisecond, 500 * time.Millisecond},
		{10 * time.Second, 2 * time.Second},
		{0, 2 * time.Second}, // the default interval, 10s
	} {
		c := Check{Target: "tcp://127.0.0.1:80", Interval: Duration(tc.interval)}
		if err := c.Normalize(false); err != nil || c.Timeout.D() != tc.want {
			t.Errorf("interval %s: timeout %s, %v; want %s", tc.interval, c.Timeout.D(), err, tc.want)
		}
	}
}
