package cli_test

import (
	"errors"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dnslb/dnslb/internal/cli"
)

// blackHole is a TCP listener that accepts connections and never answers:
// a server that hangs, or a firewall that drops the answers. It returns
// "http://ADDR".
func blackHole(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if err == nil {
				mu.Lock()
				conns = append(conns, c)
				mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return "http://" + ln.Addr().String()
}

// TestAgentExitsAtOnceOnPermanentErrors: what retrying cannot fix ends the
// agent at once, with the reason and a non-zero code, so that systemd shows
// it: usage errors exit 2, refusals by the server and the lack of an
// identity exit 1.
func TestAgentExitsAtOnceOnPermanentErrors(t *testing.T) {
	s := startServer(t, "127.0.0.21", t.TempDir(), "--zone", "lb.test")
	api := "http://" + s.api
	hole, closed := blackHole(t), refused(t)
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
		// suffix ends the line, when the middle of it (an AWS SDK
		// error) is not ours to pin
		suffix string
	}{
		{"static without set id", []string{"--server", api, "--zone", "lb.test", "--name", "www", "--identity", "static", "--address", "127.0.0.31"},
			2, "dnslb: --identity static needs --set-id\n", ""},
		{"static without address", []string{"--server", api, "--zone", "lb.test", "--name", "www", "--identity", "static", "--set-id", "i-1"},
			2, "dnslb: --identity static needs --address\n", ""},
		{"weight out of range", []string{"--server", api, "--zone", "lb.test", "--name", "www", "--identity", "static", "--set-id", "i-1", "--address", "127.0.0.31", "--weight", "999"},
			2, "dnslb: --weight 999: allowed 0..255\n", ""},
		{"address-from without ec2", []string{"--server", api, "--zone", "lb.test", "--name", "www", "--identity", "host", "--address-from", "private"},
			2, "dnslb: --address-from private: only with --identity ec2\n", ""},
		{"address-from and address", []string{"--server", api, "--zone", "lb.test", "--name", "www", "--identity", "ec2", "--address-from", "private", "--address", "127.0.0.31"},
			2, "dnslb: --address-from and --address: give one (--address wins over any discovered address)\n", ""},
		{"state dir missing", []string{"--server", api, "--zone", "lb.test", "--name", "www", "--identity", "static", "--set-id", "i-1", "--address", "127.0.0.31", "--state-dir", "/nonexistent/dnslb"},
			2, "dnslb: --state-dir /nonexistent/dnslb: not a directory (create it, or let systemd's StateDirectory= set $STATE_DIRECTORY)\n", ""},
		{"zone that does not exist", []string{"--server", api, "--zone", "nozone.test", "--name", "www", "--identity", "static", "--set-id", "i-1", "--address", "127.0.0.31"},
			1, "dnslb: register: zone nozone.test.: ", "not found (not_found)\n"}, // the server's message is not ours to pin
		{"name outside the zone", []string{"--server", api, "--zone", "lb.test", "--name", "www.other.test.", "--identity", "static", "--set-id", "i-1", "--address", "127.0.0.31"},
			1, "dnslb: register: name: \"www.other.test.\" is not inside zone lb.test. (invalid_argument)\n", ""},
		{"not on EC2", []string{"--server", api, "--zone", "lb.test", "--name", "www", "--identity", "ec2", "--imds-endpoint", closed, "--identity-timeout", "1s"},
			1, "dnslb: identity: not on EC2 or IMDS unreachable at " + closed + ": imds instance-id: ", " (gave up after 1s)\n"},
		// IMDS takes the connection and its answer to the token PUT never
		// comes: the PUT response hop limit of a container.
		{"IMDS token unanswered", []string{"--server", api, "--zone", "lb.test", "--name", "www", "--identity", "ec2", "--imds-endpoint", hole, "--identity-timeout", "1s"},
			1, "dnslb: identity: imds instance-id: IMDS accepted the connection but the IMDSv2 token request (PUT) got no answer: " +
				"in a container, raise the hop limit (HttpPutResponseHopLimit, e.g. aws ec2 modify-instance-metadata-options " +
				"--http-put-response-hop-limit 2) (operation error ec2imds: GetMetadata, ", " (gave up after 1s)\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			a := startAgent(t, nil, append(tc.args, "--lease", "3s", "--ttl", "1")...)
			a.waitExit(t, 15*time.Second)
			took := time.Since(start)
			out := a.out.String()
			if code := a.cmd.ProcessState.ExitCode(); code != tc.code {
				t.Errorf("exit code %d, want %d", code, tc.code)
			}
			if last := lastLine(out); !strings.HasPrefix(last, tc.want) || (tc.suffix != "" && !strings.HasSuffix(last, tc.suffix)) {
				t.Errorf("last line %q, want %q…%q; output:\n%s", last, tc.want, tc.suffix, out)
			}
			t.Logf("exited %d after %s", a.cmd.ProcessState.ExitCode(), took.Round(time.Millisecond))
		})
	}
}

// refused is "http://ADDR" of a port that refuses connections: a host
// without IMDS.
func refused(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	return "http://" + ln.Addr().String()
}

// lastLine is the last line of out, with its newline.
func lastLine(out string) string {
	lines := strings.SplitAfter(strings.TrimSuffix(out, "\n"), "\n")
	return lines[len(lines)-1] + "\n"
}

// TestAgentServerFlagTakesSeveral: --server as a comma list or repeated
// keeps every server, and the agent fails over from a black-holed one. It
// registers, drains and deregisters through the server that answers.
func TestAgentServerFlagTakesSeveral(t *testing.T) {
	s := startServer(t, "127.0.0.22", t.TempDir(), "--zone", "lb.test")
	api := "http://" + s.api
	hole := blackHole(t)
	for _, tc := range []struct {
		name   string
		server []string
	}{
		{"comma list, first black-holed", []string{"--server", hole + "," + api}},
		{"repeated, second black-holed", []string{"--server", api, "--server", hole}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := "i-" + strings.Fields(tc.name)[0]
			args := append(tc.server, "--zone", "lb.test", "--name", "www", "--identity", "static", "--set-id", id,
				"--address", "127.0.0.32", "--ttl", "1", "--lease", "3s", "--drain-margin", "0s", "--renew", "http")
			a := startAgent(t, nil, args...)
			eventually(t, 15*time.Second, "registration", func() bool { _, ok := s.views(t)[id]; return ok })
			if err := a.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			a.waitExit(t, 15*time.Second)
			if code := a.cmd.ProcessState.ExitCode(); code != 0 || !strings.Contains(a.out.String(), "drained") {
				t.Fatalf("exit %d:\n%s", code, a.out)
			}
			if _, ok := s.views(t)[id]; ok {
				t.Errorf("set %s still registered after the drain:\n%s", id, a.out)
			}
		})
	}
}

// TestAgentLogLevel: --log-level debug shows each retry; warn hides the
// information lines but keeps the one warning of a lost server.
func TestAgentLogLevel(t *testing.T) {
	hole := blackHole(t)
	args := []string{"--server", hole, "--zone", "lb.test", "--name", "www", "--identity", "static", "--set-id", "i-1",
		"--address", "127.0.0.33", "--request-timeout", "50ms", "--backoff-min", "10ms", "--backoff-max", "20ms"}
	debug := startAgent(t, nil, append(args, "--log-level", "debug")...)
	warn := startAgent(t, nil, append(args, "--log-level", "warn")...)
	eventually(t, 10*time.Second, "debug lines of retries", func() bool {
		return strings.Count(debug.out.String(), `level=DEBUG msg=retrying`) >= 3
	})
	eventually(t, 10*time.Second, "the warning", func() bool {
		return strings.Contains(warn.out.String(), `level=WARN msg="registration failed; retrying with backoff"`)
	})
	if out := warn.out.String(); strings.Contains(out, "level=INFO") || strings.Contains(out, "level=DEBUG") {
		t.Errorf("--log-level warn logged below warn:\n%s", out)
	}
	if n := strings.Count(debug.out.String(), "level=WARN"); n != 1 {
		t.Errorf("%d warnings, want 1:\n%s", n, debug.out)
	}
}

// TestOneServerForOtherCommands: only the agent takes several servers;
// other commands say so instead of silently keeping one, and exit 2: the
// command line is wrong.
func TestOneServerForOtherCommands(t *testing.T) {
	var stdout, stderr strings.Builder
	code := cli.Main([]string{"zone", "ls", "--server", "http://127.0.0.1:1", "--server", "http://127.0.0.1:2"}, &stdout, &stderr)
	if want := "dnslb: --server: this command takes one server, got 2; only the agent takes several\n"; code != 2 || stderr.String() != want {
		t.Errorf("exit %d, stderr %q; want 2, %q", code, stderr.String(), want)
	}
}

// TestAgentSIGTERMWithABlackHoledServer: a server that accepts connections
// and never answers does not hold SIGTERM: the call in flight ends at its
// deadline and the agent exits.
func TestAgentSIGTERMWithABlackHoledServer(t *testing.T) {
	a := startAgent(t, nil, "--server", blackHole(t), "--zone", "lb.test", "--name", "www", "--identity", "static",
		"--set-id", "i-1", "--address", "127.0.0.34", "--request-timeout", "300ms")
	eventually(t, 10*time.Second, "a registration timed out", func() bool {
		return strings.Contains(a.out.String(), `msg="registration failed; retrying with backoff"`)
	})
	start := time.Now()
	if err := a.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	a.waitExit(t, 5*time.Second)
	if code := a.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit %d:\n%s", code, a.out)
	}
	t.Logf("exited %s after SIGTERM (request timeout 300ms)", time.Since(start).Round(time.Millisecond))
}
