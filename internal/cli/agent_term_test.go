package cli_test

import (
	"fmt"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// awsEnv are credentials for the Auto Scaling stand-in.
var awsEnv = []string{"AWS_ACCESS_KEY_ID=AKIDTEST", "AWS_SECRET_ACCESS_KEY=secret", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null"}

// dnsWatch asks the server for www.lb.test A every few milliseconds and
// keeps when each address was last and first seen.
type dnsWatch struct {
	mu          sync.Mutex
	first, last map[string]time.Time
	stop        chan struct{}
	done        chan struct{}
}

func watchDNS(t *testing.T, addr string) *dnsWatch {
	w := &dnsWatch{first: map[string]time.Time{}, last: map[string]time.Time{}, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		c := &dns.Client{Net: "udp", Timeout: time.Second}
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			m := new(dns.Msg)
			m.SetQuestion("www.lb.test.", dns.TypeA)
			if r, _, err := c.Exchange(m, addr); err == nil {
				w.note(r, time.Now())
			}
			select {
			case <-tick.C:
			case <-w.stop:
				return
			}
		}
	}()
	t.Cleanup(w.close)
	return w
}

func (w *dnsWatch) note(r *dns.Msg, at time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, rr := range r.Answer {
		if a, ok := rr.(*dns.A); ok {
			ip := a.A.String()
			if w.first[ip].IsZero() {
				w.first[ip] = at
			}
			w.last[ip] = at
		}
	}
}

func (w *dnsWatch) close() {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	<-w.done
}

func (w *dnsWatch) lastSeen(ip string) time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.last[ip]
}

// TestAgentEC2SpotLifecycleNoResurrection is the spot interruption
// in an auto scaling group with --complete-lifecycle-hook, against an
// Auto Scaling stand-in that answers as AWS does. The agent drains on the
// spot notice and, with no lifecycle action pending, completes nothing and
// exits 0. Restarted as systemd would (by Restart= or by hand), on the
// same instance and boot, it never registers the dying instance again: not
// while the notice is pending, not from its memory alone (the state
// directory from $STATE_DIRECTORY), and once the group moves the instance
// into Terminating:Wait it completes the action (CONTINUE) without
// registering. Clients never get the address after the first drain.
func TestAgentEC2SpotLifecycleNoResurrection(t *testing.T) {
	s := startServer(t, "127.0.0.24", t.TempDir(), "--zone", "lb.test")
	const ip, id = "127.0.0.8", "i-0spotlife"
	port := startApp(t, ip, 0).port
	imds := startIMDS(t, "127.0.0.1", id, ip)
	as := startAutoscaling(t)
	as.strict = true
	env := append([]string{"STATE_DIRECTORY=" + t.TempDir()}, awsEnv...)
	args := []string{"--server", "http://" + s.api, "--zone", "lb.test", "--name", "www", "--identity", "ec2",
		"--imds-endpoint", imds.srv.URL, "--notice-interval", "100ms", "--ttl", "1", "--lease", "3s", "--drain-margin", "500ms",
		"--check", fmt.Sprintf("tcp://%s:%d", ip, port), "--check-interval", "200ms",
		"--complete-lifecycle-hook", "drain-hook", "--asg-name", "web-asg", "--region", "us-east-1",
		"--autoscaling-endpoint", as.srv.URL}
	w := watchDNS(t, s.dns)

	first := startAgent(t, env, args...)
	eventually(t, 30*time.Second, "the instance in answers", func() bool { return !w.lastSeen(ip).IsZero() })
	notice := time.Now()
	imds.spot.Store(true)
	eventually(t, 10*time.Second, "the address out of answers", func() bool {
		return w.lastSeen(ip).Before(time.Now().Add(-300 * time.Millisecond))
	})
	drained := w.lastSeen(ip)
	first.waitExit(t, 30*time.Second)
	exited := time.Now()
	if code := first.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("first run exited %d, want 0:\n%s", code, first.out)
	}
	t.Logf("notice to drain (last answer with the address) %s, notice to exit %s (TTL 1s, margin 500ms, notice poll 100ms)",
		drained.Sub(notice).Round(time.Millisecond), exited.Sub(notice).Round(time.Millisecond))
	t.Logf("first run:\n%s", first.out)

	restart := func(what string) *agentProc {
		t.Helper()
		a := startAgent(t, env, args...)
		a.waitExit(t, 30*time.Second)
		out := a.out.String()
		// The notice found before registering, or the notice watcher
		// first: either way nothing registers.
		if code := a.cmd.ProcessState.ExitCode(); code != 0 || strings.Contains(out, `msg=registered`) ||
			!strings.Contains(out, "this instance is going away; not registering it") && !strings.Contains(out, "drain requested before registration") {
			t.Errorf("restart %s: exit %d, want 0 and no registration:\n%s", what, code, out)
		}
		t.Logf("restart %s:\n%s", what, out)
		return a
	}
	restart("with the spot notice pending")
	imds.spot.Store(false) // only the memory is left to tell
	restart("with the drain remembered only")
	imds.terminate.Store(true) // the group moves the instance into Terminating:Wait
	as.active.Store(true)
	restart("in Terminating:Wait")

	w.close()
	if last := w.lastSeen(ip); last.After(exited) {
		t.Errorf("clients got %s at %s, %s after the drain completed", ip, last.Format(time.StampMilli), last.Sub(exited))
	}
	if n := as.completed.Load(); n != 1 {
		as.mu.Lock()
		t.Errorf("lifecycle action completed %d times, want 1; calls %v", n, as.calls)
		as.mu.Unlock()
	}
	if _, ok := s.views(t)[id]; ok {
		t.Error("the set is registered at the end")
	}
}

// TestAgentEC2SecondSignalCompletesLifecycle: a second SIGTERM cuts the
// drain short, and the agent still completes the pending lifecycle action
// (CONTINUE) on its way out, so the group does not wait out the hook's
// heartbeat timeout.
func TestAgentEC2SecondSignalCompletesLifecycle(t *testing.T) {
	s := startServer(t, "127.0.0.25", t.TempDir(), "--zone", "lb.test")
	const ip, id = "127.0.0.9", "i-0twice"
	imds := startIMDS(t, "127.0.0.1", id, ip)
	as := startAutoscaling(t)
	as.strict = true
	a := startAgent(t, awsEnv, "--server", "http://"+s.api, "--zone", "lb.test", "--name", "www", "--identity", "ec2",
		"--imds-endpoint", imds.srv.URL, "--notice-interval", "1h", "--ttl", "30", "--lease", "3s",
		"--complete-lifecycle-hook", "drain-hook", "--asg-name", "web-asg", "--region", "us-east-1",
		"--autoscaling-endpoint", as.srv.URL)
	eventually(t, 30*time.Second, "registration", func() bool { _, ok := s.views(t)[id]; return ok })
	if s.answers(t, 3)[ip] == 0 { // served: the drain waits TTL + margin
		t.Fatal("the instance is not in answers")
	}
	imds.terminate.Store(true) // scale-in: Terminating:Wait; the shutdown stops the agent
	as.active.Store(true)
	if err := a.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the drain", func() bool { return strings.Contains(a.out.String(), "draining: out of new answers") })
	if err := a.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	a.waitExit(t, 15*time.Second)
	if code := a.cmd.ProcessState.ExitCode(); code != 0 || !strings.Contains(a.out.String(), "second signal: leaving before the drain is complete") {
		t.Errorf("exit %d, or the drain was not cut short:\n%s", code, a.out)
	}
	if n := as.completed.Load(); n != 1 {
		t.Errorf("lifecycle action completed %d times, want 1:\n%s", n, a.out)
	}
	if _, ok := s.views(t)[id]; ok {
		t.Error("the set is registered after the agent left")
	}
}

// TestAgentEC2IdentityFlags: --address-from picks the private address
// over the public one; --address and --set-id win over IMDS; an IPv6-only
// instance registers its IPv6 address (AAAA).
func TestAgentEC2IdentityFlags(t *testing.T) {
	s := startServer(t, "127.0.0.26", t.TempDir(), "--zone", "lb.test")
	for _, tc := range []struct {
		name       string
		meta       map[string]string
		flags      []string
		set, value string
	}{
		{"address-from private", map[string]string{"instance-id": "i-0priv", "public-ipv4": "203.0.113.10", "local-ipv4": "10.0.0.10"},
			[]string{"--address-from", "private"}, "i-0priv", "10.0.0.10"},
		{"explicit address and set id", map[string]string{"instance-id": "i-0expl", "public-ipv4": "203.0.113.11", "local-ipv4": "10.0.0.11"},
			[]string{"--address", "192.0.2.11", "--set-id", "web-11"}, "web-11", "192.0.2.11"},
		{"IPv6 only", map[string]string{"instance-id": "i-0six", "mac": "0e:00:00:00:00:12",
			"network/interfaces/macs/0e:00:00:00:00:12/ipv6s": "2001:db8::12"}, nil, "i-0six", "2001:db8::12"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			imds := startIMDSMeta(t, "127.0.0.1", tc.meta)
			a := startAgent(t, nil, append([]string{"--server", "http://" + s.api, "--zone", "lb.test", "--name", "www",
				"--identity", "ec2", "--imds-endpoint", imds.srv.URL, "--identity-timeout", "3s", "--ttl", "1", "--lease", "3s"}, tc.flags...)...)
			var v string
			select {
			case <-a.exited:
				t.Fatalf("agent exited %d:\n%s", a.cmd.ProcessState.ExitCode(), a.out)
			default:
			}
			eventually(t, 15*time.Second, "registration of "+tc.set, func() bool {
				if set, ok := s.views(t)[tc.set]; ok {
					v = set.Values[0]
				}
				return v != "" || !running(a)
			})
			if v != tc.value {
				t.Errorf("registered %q as %s, want %q:\n%s", v, tc.set, tc.value, a.out)
			}
		})
	}
}

// running reports whether the agent process still runs.
func running(a *agentProc) bool {
	select {
	case <-a.exited:
		return false
	default:
		return true
	}
}
