package cli_test

import (
	"testing"
	"time"
)

// TestUnrenewedSetAfterServerRestart measures how long a leased set that
// nobody renews (its agent gone while the server was down) stays in
// answers after the server restarts: every lease gets the restart grace on
// top, so the bound is restart grace + lease, not one lease. The test pins
// that bound; with the default grace (15s) and a 15s lease that is 30s.
func TestUnrenewedSetAfterServerRestart(t *testing.T) {
	data := t.TempDir()
	const grace, lease = 2 * time.Second, 3 * time.Second
	s := startServer(t, "127.0.0.27", data, "--zone", "lb.test", "--restart-grace", grace.String())
	s.run(t, "record", "set", "lb.test", "www", "A", "--set-id", "static", "--weight", "10", "--ttl", "1", "--value", "127.0.0.51")
	s.run(t, "record", "set", "lb.test", "www", "A", "--set-id", "gone", "--weight", "10", "--ttl", "1", "--value", "127.0.0.52",
		"--lease", lease.String())
	s.kill(t)
	s = startServerAt(t, s.dns, s.api, data, "--zone", "lb.test", "--restart-grace", grace.String())
	start := time.Now()
	if s.answers(t, 20)["127.0.0.52"] == 0 {
		t.Fatal("the leased set is not served after the restart")
	}
	eventually(t, grace+lease+5*time.Second, "the unrenewed set out of answers", func() bool {
		return s.answers(t, 20)["127.0.0.52"] == 0
	})
	took := time.Since(start)
	if took > grace+lease+time.Second {
		t.Errorf("the unrenewed set stayed %s after the restart; want at most restart grace + lease = %s", took, grace+lease)
	}
	t.Logf("an unrenewed set left answers %s after the server restarted (lease %s, restart grace %s): more than one lease",
		took.Round(10*time.Millisecond), lease, grace)
}
