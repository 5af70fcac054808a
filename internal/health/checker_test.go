package health

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dnslb/dnslb/internal/record"
)

// fakeClock is a Now that the test moves.
type fakeClock struct{ t atomic.Pointer[time.Time] }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.set(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	return c
}

func (c *fakeClock) now() time.Time      { return *c.t.Load() }
func (c *fakeClock) set(t time.Time)     { c.t.Store(&t) }
func (c *fakeClock) add(d time.Duration) { c.set(c.now().Add(d)) }

// view is a Result with its error as text, for comparison.
type view struct {
	Status Status
	Since  time.Time
	Err    string
}

func viewOf(r Result) view { return view{r.Status, r.Since, errText(r.Err)} }

func TestCheckerStep(t *testing.T) {
	b := newBackend(t, "127.0.0.2:0", false)
	target := b.srv.URL + "/health"
	clock := newFakeClock()
	t0 := clock.now()
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * 10 * time.Second) }
	fail := target + ": status 500"
	tests := []struct {
		name           string
		startUnhealthy bool
		codes          []int  // one probe each, 10s apart
		want           []view // after each probe
		changes        []view // handed to OnChange
	}{
		{
			name:  "up until first results, falls after 3, rises after 2",
			codes: []int{200, 500, 500, 500, 500, 200, 200, 200},
			want: []view{
				{Up, t0, ""}, {Up, t0, fail}, {Up, t0, fail}, {Down, at(4), fail},
				{Down, at(4), fail}, {Down, at(4), ""}, {Up, at(7), ""}, {Up, at(7), ""},
			},
			changes: []view{{Down, at(4), fail}, {Up, at(7), ""}},
		},
		{
			name:           "start unhealthy",
			startUnhealthy: true,
			codes:          []int{200, 500, 200, 200},
			want:           []view{{Down, t0, ""}, {Down, t0, fail}, {Down, t0, ""}, {Up, at(4), ""}},
			changes:        []view{{Up, at(4), ""}},
		},
		{
			name:  "flapping",
			codes: []int{500, 200, 500, 500, 200, 500},
			want: []view{
				{Up, t0, fail}, {Up, t0, ""}, {Up, t0, fail}, {Up, t0, fail}, {Up, t0, ""}, {Up, t0, fail},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock.set(t0)
			var changes []view
			c := newTestChecker(t, target, func(rc *record.Check) { rc.StartUnhealthy = tt.startUnhealthy },
				CheckerOptions{Now: clock.now, OnChange: func(r Result) { changes = append(changes, viewOf(r)) }})
			initial := view{Up, t0, ""}
			if tt.startUnhealthy {
				initial.Status = Down
			}
			if diff := cmp.Diff(initial, viewOf(c.Status())); diff != "" {
				t.Errorf("initial status (-want +got):\n%s", diff)
			}
			var got []view
			for _, code := range tt.codes {
				clock.add(10 * time.Second)
				b.set(status(code))
				r := c.Step(t.Context())
				if r != c.Status() {
					t.Errorf("Step returned %+v, Status() %+v", r, c.Status())
				}
				got = append(got, viewOf(r))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("results (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.changes, changes); diff != "" {
				t.Errorf("OnChange calls (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCheckerStepCanceledDoesNotCount(t *testing.T) {
	b := newBackend(t, "127.0.0.2:0", false)
	c := newTestChecker(t, b.srv.URL, func(rc *record.Check) { rc.Fall = 1 },
		CheckerOptions{OnChange: func(r Result) { t.Errorf("OnChange(%+v)", r) }})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	for range 3 {
		if r := c.Step(ctx); r.Status != Up || r.Err != nil {
			t.Errorf("Step(canceled) = %+v, want Up without error", r)
		}
	}
}

func TestNewCheckerErrors(t *testing.T) {
	tests := []struct {
		check record.Check
		want  string
	}{
		{record.Check{Target: "tcp://127.0.0.1:1"},
			`health: check "tcp://127.0.0.1:1": interval 0s, rise 0, fall 0: normalize the check first`},
		{record.Check{Target: "udp://127.0.0.1:1", Interval: record.Duration(time.Second), Timeout: record.Duration(time.Second), Rise: 1, Fall: 1},
			`health: check "udp://127.0.0.1:1": scheme "udp" is not supported; allowed http, https, tcp, exec:`},
	}
	for _, tt := range tests {
		if _, err := NewChecker(tt.check, CheckerOptions{}); errText(err) != tt.want {
			t.Errorf("NewChecker(%q) error = %q, want %q", tt.check.Target, errText(err), tt.want)
		}
	}
}

func TestCheckerRun(t *testing.T) {
	b := newBackend(t, "127.0.0.2:0", false)
	b.set(status(500))
	changes := make(chan Result, 16)
	var jitterN atomic.Int64
	c := newTestChecker(t, b.srv.URL, fastCheck, CheckerOptions{
		Rand:     func(n int64) int64 { jitterN.Store(n); return n / 2 },
		OnChange: func(r Result) { changes <- r },
	})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); c.Run(ctx) }()

	wantChange(t, changes, Down)
	b.set(status(200))
	wantChange(t, changes, Up)
	cancel()
	waitFor(t, done, "Run to return")
	if got, want := time.Duration(jitterN.Load()), 100*time.Millisecond; got != want {
		t.Errorf("jitter drawn in [0, %s), want [0, %s)", got, want)
	}
}

func TestCheckerRunStopsProbeInFlight(t *testing.T) {
	b := newBackend(t, "127.0.0.2:0", false)
	b.set(b.slow)
	c := newTestChecker(t, b.srv.URL, func(rc *record.Check) { rc.Fall = 1 }, CheckerOptions{
		Rand:     func(int64) int64 { return 0 },
		OnChange: func(r Result) { t.Errorf("OnChange(%+v)", r) },
	})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); c.Run(ctx) }()

	waitFor(t, b.started, "the first probe")
	cancel()
	waitFor(t, done, "Run to return")
	if r := c.Status(); r.Status != Up || r.Err != nil {
		t.Errorf("Status() = %+v after a canceled probe, want Up without error", r)
	}
}

// fastCheck probes every 100ms and follows every result.
func fastCheck(c *record.Check) {
	c.Interval, c.Timeout = record.Duration(100*time.Millisecond), record.Duration(100*time.Millisecond)
	c.Rise, c.Fall = 1, 1
}

// newTestChecker returns a Checker of target, its check changed by edit.
func newTestChecker(t *testing.T, target string, edit func(*record.Check), opts CheckerOptions) *Checker {
	t.Helper()
	c, err := NewChecker(normalized(t, target, edit), opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// wantChange waits for the next change and checks its status.
func wantChange(t *testing.T, changes <-chan Result, want Status) {
	t.Helper()
	select {
	case r := <-changes:
		if r.Status != want {
			t.Fatalf("change to %s (%v), want %s", r.Status, r.Err, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no change to %s within 10s", want)
	}
}

// waitFor waits for ch to yield or close, failing after a generous timeout.
func waitFor[T any](t *testing.T, ch <-chan T, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}
