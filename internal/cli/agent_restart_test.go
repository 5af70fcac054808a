package cli_test

import (
	"testing"
	"time"
)

// TestUnrenewedSetAfterServerRestart: a leased set that nobody renews (its
// agent gone while the server was down) leaves answers within one lease of
// the server's restart. Leases restart from the restart with no grace by
// default: a live agent renews every third of its lease and goes back to
// HTTP at once when its heartbeat token is refused, so it renews well
// within one lease (TestAgentRenewsByHeartbeat restarts under a live
// agent); a departed one must not be served for longer than a lease.
func TestUnrenewedSetAfterServerRestart(t *testing.T) {
	data := t.TempDir()
	const lease = 3 * time.Second
	s := startServer(t, "127.0.0.27", data, "--zone", "lb.test")
	s.run(t, "record", "set", "lb.test", "www", "A", "--set-id", "static", "--weight", "10", "--ttl", "1", "--value", "127.0.0.51")
	s.run(t, "record", "set", "lb.test", "www", "A", "--set-id", "gone", "--weight", "10", "--ttl", "1", "--value", "127.0.0.52",
		"--lease", lease.String())
	s.kill(t)
	s = startServerAt(t, s.dns, s.api, data, "--zone", "lb.test")
	start := time.Now()
	if s.answers(t, 20)["127.0.0.52"] == 0 {
		t.Fatal("the leased set is not served after the restart")
	}
	eventually(t, lease+5*time.Second, "the unrenewed set out of answers", func() bool {
		return s.answers(t, 20)["127.0.0.52"] == 0
	})
	if took := time.Since(start); took > lease+time.Second {
		t.Errorf("the unrenewed set stayed %s after the restart; want at most one lease, %s", took, lease)
	} else {
		t.Logf("an unrenewed set left answers %s after the server restarted (lease %s)", took.Round(10*time.Millisecond), lease)
	}
}
