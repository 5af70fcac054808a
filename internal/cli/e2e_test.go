package cli_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
	"go.uber.org/goleak"

	"github.com/dnslb/dnslb/internal/cli"
	"github.com/dnslb/dnslb/internal/record"
)

// TestMain doubles as the dnslb binary: a test re-executes itself with
// DNSLB_TEST_MAIN=1 to run a real `dnslb serve` process it can kill -9.
func TestMain(m *testing.M) {
	if os.Getenv("DNSLB_TEST_MAIN") == "1" {
		os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
	}
	// The tests marked parallel wait on real time (leases, outages of etcd,
	// clusters settling) far more than they use the CPU: four at a time,
	// not GOMAXPROCS (2 here), unless -parallel says otherwise.
	flag.Parse()
	if p := flag.Lookup("test.parallel"); p != nil && !flagSet("test.parallel") {
		_ = p.Value.Set("4")
	}
	goleak.VerifyTestMain(m)
}

// flagSet reports whether the command line set flag name.
func flagSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// waitBound marks an end-to-end test that mostly waits on real time and
// shares no address or file with another as parallel.
func waitBound(t *testing.T) {
	if !testing.Short() {
		t.Parallel()
	}
}

// server is a `dnslb serve` subprocess.
type server struct {
	cmd      *exec.Cmd
	dns, api string
	stderr   *syncBuffer // written by scan while the process runs
	exited   chan struct{}
}

var servingLine = regexp.MustCompile(`msg="dnslb serving" dns=(\S+) api=(\S+)`)

// startServer runs `dnslb serve` on ip with ports chosen by the kernel and
// waits until it logs the addresses it serves on.
func startServer(t *testing.T, ip, data string, args ...string) *server {
	t.Helper()
	return startServerAt(t, ip+":0", ip+":0", data, args...)
}

// startServerAt runs `dnslb serve` on the given DNS and API addresses.
// With a fixed port (a restart on the addresses of an earlier server),
// another process may hold the port for a moment as the source port of a
// connection of its own; the start is then retried for a while.
func startServerAt(t *testing.T, dnsAddr, apiAddr, data string, args ...string) *server {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		s, err := tryServerAt(t, dnsAddr, apiAddr, data, args...)
		if err == nil {
			return s
		}
		if !strings.Contains(s.stderr.String(), "address already in use") || time.Now().After(deadline) {
			t.Fatalf("%v:\n%s", err, s.stderr)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// tryServerAt starts `dnslb serve` once and waits until it logs the
// addresses it serves on, or exits.
func tryServerAt(t *testing.T, dnsAddr, apiAddr, data string, args ...string) (*server, error) {
	t.Helper()
	// Tests query far faster than a resolver: loopback is exempt from RRL.
	// Their backends are on loopback, which checks reach only if allowed.
	args = append([]string{"serve", "--dns", dnsAddr, "--api", apiAddr, "--data", data, "--rrl-exempt", "127.0.0.0/8",
		"--check-allow", "127.0.0.0/8"}, args...)
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "DNSLB_TEST_MAIN=1")
	return launch(t, cmd, servingLine)
}

// startServerCmd starts cmd, a `dnslb serve` logging text, and waits until
// it serves.
func startServerCmd(t *testing.T, cmd *exec.Cmd) *server {
	t.Helper()
	s, err := launch(t, cmd, servingLine)
	if err != nil {
		t.Fatalf("%v:\n%s", err, s.stderr)
	}
	return s
}

// launch starts cmd, a `dnslb serve`, and waits until it logs line (whose
// two groups are the DNS and API addresses), or exits; it is killed when
// the test ends.
func launch(t *testing.T, cmd *exec.Cmd, line *regexp.Regexp) (*server, error) {
	t.Helper()
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, stderr: &syncBuffer{}, exited: make(chan struct{})}
	found := make(chan []string, 1)
	go s.scan(pipe, line, found)
	t.Cleanup(func() { s.kill(t) })
	select {
	case m := <-found:
		s.dns, s.api = m[1], m[2]
		return s, nil
	case <-s.exited:
		return s, fmt.Errorf("dnslb serve exited before serving")
	case <-time.After(60 * time.Second):
		t.Fatalf("dnslb serve did not start:\n%s", s.stderr)
		return nil, nil
	}
}

func (s *server) scan(r io.Reader, serving *regexp.Regexp, found chan<- []string) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		s.stderr.Write([]byte(line + "\n"))
		if m := serving.FindStringSubmatch(line); m != nil {
			found <- m
		}
	}
	_ = s.cmd.Wait()
	close(s.exited)
}

func (s *server) kill(t *testing.T) {
	select {
	case <-s.exited:
		return
	default:
	}
	_ = s.cmd.Process.Kill()
	<-s.exited
}

// stop sends SIGTERM and waits for a clean exit.
func (s *server) stop(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		t.Fatalf("dnslb serve did not stop on SIGTERM")
	}
	if code := s.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("dnslb serve exited %d after SIGTERM:\n%s", code, s.stderr)
	}
}

// run runs a CLI command in-process against s and returns its stdout.
func (s *server) run(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, code := s.try(args...)
	if code != 0 {
		t.Fatalf("dnslb %s: exit %d: %s", strings.Join(args, " "), code, errOut)
	}
	return out
}

func (s *server) try(args ...string) (stdout, stderr string, code int) {
	var o, e bytes.Buffer
	code = cli.Main(append([]string{"--server", "http://" + s.api}, args...), &o, &e)
	return o.String(), e.String(), code
}

func (s *server) query(t *testing.T, name string, qtype uint16, proto string) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	c := &dns.Client{Net: proto, Timeout: 5 * time.Second}
	r, _, err := c.Exchange(m, s.dns)
	if err != nil {
		t.Fatalf("query %s over %s: %v", name, proto, err)
	}
	return r
}

func TestCLIEndToEnd(t *testing.T) {
	s := startServer(t, "127.0.0.11", t.TempDir(), "--zone", "lb.test")
	s.run(t, "record", "set", "lb.test", "www", "A", "--set-id", "i-aaa", "--weight", "10", "--ttl", "60", "--value", "127.0.1.1")
	out := s.run(t, "record", "set", "lb.test", "www", "A", "--set-id", "i-bbb", "--weight", "30", "--ttl", "60", "--value", "127.0.1.2")
	if !strings.Contains(out, "www.lb.test. A set i-bbb weight 30") {
		t.Errorf("record set printed %q", out)
	}
	table := s.run(t, "record", "ls", "lb.test")
	for _, want := range []string{"NAME", "i-aaa", "i-bbb", "25.0%", "75.0%", "127.0.1.2"} {
		if !strings.Contains(table, want) {
			t.Errorf("record ls lacks %q:\n%s", want, table)
		}
	}
	var sets []record.Set
	if err := json.Unmarshal([]byte(s.run(t, "record", "ls", "lb.test", "--json")), &sets); err != nil || len(sets) != 2 {
		t.Fatalf("record ls --json: %v, %d sets", err, len(sets))
	}
	checkShares(t, s, map[string]float64{"127.0.1.1": 10, "127.0.1.2": 30})

	s.run(t, "record", "rm", "lb.test", "www", "A", "--set-id", "i-aaa")
	for range 20 {
		if r := s.query(t, "www.lb.test.", dns.TypeA, "udp"); len(r.Answer) != 1 || r.Answer[0].(*dns.A).A.String() != "127.0.1.2" {
			t.Fatalf("after rm: %v", r.Answer)
		}
	}
	_, errOut, code := s.try("record", "set", "lb.test", "www", "A", "--set-id", "i-ccc", "--weight", "300", "--ttl", "60", "--value", "127.0.1.3")
	if code == 0 || !strings.Contains(errOut, "weight") {
		t.Errorf("weight 300: exit %d, stderr %q", code, errOut)
	}
	s.run(t, "zone", "create", "other.test")
	if zones := s.run(t, "zone", "ls"); !strings.Contains(zones, "other.test.") || !strings.Contains(zones, "lb.test.") {
		t.Errorf("zone ls:\n%s", zones)
	}
	s.run(t, "record", "set", "other.test", "www", "A", "--value", "127.0.2.1")
	_, errOut, code = s.try("zone", "rm", "other.test")
	if want := "zone other.test. holds 1 record set; delete them first, or delete the zone with them with force (dnslb zone rm --force, DELETE ?force=true) (zone_not_empty)\n"; code != 1 || !strings.HasSuffix(errOut, want) {
		t.Errorf("zone rm of a zone with a set: exit %d, stderr %q; want the end %q", code, errOut, want)
	}
	s.run(t, "zone", "rm", "--force", "other.test")
	if r := s.query(t, "other.test.", dns.TypeSOA, "tcp"); r.Rcode != dns.RcodeRefused {
		t.Errorf("deleted zone answers %s", dns.RcodeToString[r.Rcode])
	}
	s.stop(t)
}

// checkShares queries www.lb.test 4,000 times and compares the answers with
// the weights by a chi-square test (p = 0.001).
func checkShares(t *testing.T, s *server, weights map[string]float64) {
	t.Helper()
	const n = 4000
	counts := map[string]float64{}
	for range n {
		r := s.query(t, "www.lb.test.", dns.TypeA, "udp")
		if len(r.Answer) != 1 {
			t.Fatalf("answer %v", r.Answer)
		}
		counts[r.Answer[0].(*dns.A).A.String()]++
	}
	var total, chi2 float64
	for _, w := range weights {
		total += w
	}
	for addr, w := range weights {
		exp := n * w / total
		chi2 += math.Pow(counts[addr]-exp, 2) / exp
	}
	if len(counts) != len(weights) || chi2 > 10.83 { // df = 1
		t.Errorf("answer counts %v for weights %v: chi-square %.2f", counts, weights, chi2)
	}
}

// TestDurableAcrossKill9 writes through the API, kills the server with
// SIGKILL right after the last acknowledged write, and checks that a
// restarted server has every write.
func TestDurableAcrossKill9(t *testing.T) {
	data := t.TempDir()
	s := startServer(t, "127.0.0.12", data, "--zone", "lb.test")
	const n = 50
	for i := range n {
		s.run(t, "record", "set", "lb.test", fmt.Sprintf("h%d", i), "A", "--value", fmt.Sprintf("127.0.2.%d", i))
	}
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-s.exited
	s = startServer(t, "127.0.0.12", data, "--zone", "lb.test")
	for i := range n {
		r := s.query(t, fmt.Sprintf("h%d.lb.test.", i), dns.TypeA, "udp")
		if len(r.Answer) != 1 || r.Answer[0].(*dns.A).A.String() != fmt.Sprintf("127.0.2.%d", i) {
			t.Fatalf("h%d after kill -9: %v %v", i, dns.RcodeToString[r.Rcode], r.Answer)
		}
	}
	s.stop(t)
	s = startServer(t, "127.0.0.12", data)
	if r := s.query(t, "h7.lb.test.", dns.TypeA, "tcp"); len(r.Answer) != 1 {
		t.Fatalf("after a clean restart: %v", r)
	}
	s.stop(t)
}

func TestServeRefusesTakenPortAndBadDataDir(t *testing.T) {
	s := startServer(t, "127.0.0.13", t.TempDir(), "--demo")
	var o, e bytes.Buffer
	code := cli.Main([]string{"serve", "--dns", s.dns, "--api", "127.0.0.13:0", "--data", t.TempDir()}, &o, &e)
	if code == 0 || !strings.Contains(e.String(), "address already in use") {
		t.Errorf("taken DNS port: exit %d, stderr %q", code, e.String())
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	e.Reset()
	code = cli.Main([]string{"serve", "--dns", "127.0.0.13:0", "--api", "127.0.0.13:0", "--data", file}, &o, &e)
	if code == 0 || !strings.Contains(e.String(), "--data") {
		t.Errorf("data dir is a file: exit %d, stderr %q", code, e.String())
	}
	// The demo name answers.
	if r := s.query(t, "www.lb.test.", dns.TypeA, "udp"); len(r.Answer) != 1 || !r.Authoritative {
		t.Errorf("demo www: %v", r)
	}
	s.stop(t)
}

// TestServeBadFlagsWriteNothing: a flag serve refuses is named in the
// error, and no data directory or store file is left behind.
func TestServeBadFlagsWriteNothing(t *testing.T) {
	for _, tc := range []struct{ flag, value, want string }{
		{"--heartbeat", "bogus", "--heartbeat"},
		{"--brake-max", "-1s", "--brake-max -1s: allowed 0 or more"},
		{"--lease-grace", "-1s", "--lease-grace -1s: allowed 0 or more"},
		{"--shutdown", "-2s", "--shutdown -2s: allowed 0 or more"},
		{"--rrl-rate", "0", "--rrl-rate 0: allowed 1 to 1000000"},
		{"--rrl-slip", "11", "--rrl-slip 11: allowed 0 to 10"},
		{"--rrl-window", "100ms", "--rrl-window 100ms: allowed 1s to 1m0s"},
		{"--rrl-exempt", "10.0.0.0/8,bogus", `--rrl-exempt 10.0.0.0/8,bogus: "bogus": not an address or CIDR prefix (e.g. 192.0.2.0/24 or 2001:db8::/56)`},
		{"--tcp-max-queries", "-1", "--tcp-max-queries -1: allowed 0 (no limit) or more"},
		{"--check-allow", "10.0.0.0/33", `--check-allow 10.0.0.0/33: "10.0.0.0/33": not an address or CIDR prefix (e.g. 192.0.2.0/24 or 2001:db8::/56)`},
		{"--rrl", "maybe", "--rrl"},
	} {
		data := filepath.Join(t.TempDir(), "data")
		var o, e bytes.Buffer
		code := cli.Main([]string{"serve", "--dns", "127.0.0.13:0", "--api", "127.0.0.13:0", "--data", data, tc.flag + "=" + tc.value}, &o, &e)
		if code == 0 || !strings.Contains(e.String(), tc.want) {
			t.Errorf("%s %s: exit %d, stderr %q; want an error naming %s", tc.flag, tc.value, code, e.String(), tc.want)
		}
		if _, err := os.Stat(data); !os.IsNotExist(err) {
			t.Errorf("%s %s: the data directory was created (%v)", tc.flag, tc.value, err)
		}
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"serve", "--help"}, {"record", "set", "--help"}, {"zone", "--help"}} {
		var o, e bytes.Buffer
		code := cli.Main(args, &o, &e)
		if code != 0 || !strings.Contains(o.String(), "Usage: dnslb") {
			t.Errorf("%v: exit %d, out %q err %q", args, code, o.String(), e.String())
		}
	}
}
