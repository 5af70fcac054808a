package cli_test

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dnslb/dnslb/internal/cli"
)

// tool returns the path of a Debian tool the test runs, skipping the test
// when it is missing outside CI (.ci/run installs it; there a missing tool
// fails).
func tool(t *testing.T, path, pkg string) string {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s missing: apt-get install %s (.ci/run does)", path, pkg)
		}
		t.Skipf("%s missing: apt-get install %s", path, pkg)
	}
	return path
}

// kdig runs Knot's kdig against the server at addr and returns its output.
func kdig(t *testing.T, addr string, args ...string) string {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	args = append([]string{"@" + host, "-p", port, "+timeout=2", "+retry=1"}, args...)
	out, err := exec.CommandContext(ctx, tool(t, "/usr/bin/kdig", "knot-dnsutils"), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("kdig %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// contains reports each of wants missing from out.
func contains(t *testing.T, what, out string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, out)
		}
	}
}

// TestServeIdentityAndGlueWithKdig: a real `dnslb serve` tells kdig which
// server it is (CHAOS id.server. and hostname.bind. over UDP and TCP, NSID
// with --nsid) and refuses version.bind.; its zone lists every --ns name
// server, with glue for those inside it, and answers their addresses
// authoritatively.
func TestServeIdentityAndGlueWithKdig(t *testing.T) {
	tool(t, "/usr/bin/kdig", "knot-dnsutils")
	s := startServer(t, "127.0.0.81", t.TempDir(), "--zone", "lb.example.com",
		"--ns", "ns1.lb.example.com=127.0.0.81", "--ns", "ns2.lb.example.com=192.0.2.54,2001:db8::53",
		"--ns", "ns.other.example.net", "--server-id", "dns-east-1", "--nsid")
	contains(t, "CH TXT id.server", kdig(t, s.dns, "-c", "CH", "TXT", "id.server"),
		"status: NOERROR", "Flags: qr aa", `id.server.          	0	CH	TXT	"dns-east-1"`)
	contains(t, "CH TXT hostname.bind over TCP", kdig(t, s.dns, "+tcp", "-c", "CH", "TXT", "hostname.bind"),
		"status: NOERROR", `hostname.bind.      	0	CH	TXT	"dns-east-1"`)
	contains(t, "CH TXT version.bind", kdig(t, s.dns, "-c", "CH", "TXT", "version.bind"), "status: REFUSED")
	for _, proto := range []string{"+notcp", "+tcp"} {
		contains(t, "+nsid "+proto, kdig(t, s.dns, proto, "+nsid", "SOA", "lb.example.com"),
			"status: NOERROR", `NSID: 646E732D656173742D31 "dns-east-1"`)
	}
	if out := kdig(t, s.dns, "SOA", "lb.example.com"); strings.Contains(out, "NSID") {
		t.Errorf("NSID without +nsid:\n%s", out)
	}
	contains(t, "NS lb.example.com", kdig(t, s.dns, "+norec", "NS", "lb.example.com"),
		"status: NOERROR", "Flags: qr aa;", "ANSWER: 3; AUTHORITY: 0; ADDITIONAL: 3",
		"lb.example.com.     	900	IN	NS	ns1.lb.example.com.",
		"lb.example.com.     	900	IN	NS	ns2.lb.example.com.",
		"lb.example.com.     	900	IN	NS	ns.other.example.net.",
		"ns1.lb.example.com. 	900	IN	A	127.0.0.81",
		"ns2.lb.example.com. 	900	IN	A	192.0.2.54",
		"ns2.lb.example.com. 	900	IN	AAAA	2001:db8::53")
	contains(t, "A ns2.lb.example.com", kdig(t, s.dns, "+norec", "A", "ns2.lb.example.com"),
		"status: NOERROR", "Flags: qr aa;", "ns2.lb.example.com. 	900	IN	A	192.0.2.54")
	contains(t, "MX ns2.lb.example.com", kdig(t, s.dns, "+norec", "MX", "ns2.lb.example.com"),
		"status: NOERROR", "Flags: qr aa;", "ANSWER: 0; AUTHORITY: 1", "IN	SOA	ns1.lb.example.com.")
	contains(t, "zone ls", s.run(t, "zone", "ls"),
		"ns1.lb.example.com.=127.0.0.81 ns2.lb.example.com.=192.0.2.54,2001:db8::53 ns.other.example.net.")

	out := s.run(t, "zone", "create", "lb.example.org", "--ns", "ns1.lb.example.org=127.0.0.81", "--ns", "ns2.lb.example.org=::1")
	contains(t, "zone create", out, "created zone lb.example.org. (ns ns1.lb.example.org.=127.0.0.81 ns2.lb.example.org.=::1,")
	contains(t, "AAAA ns2.lb.example.org", kdig(t, s.dns, "+norec", "AAAA", "ns2.lb.example.org"), "Flags: qr aa;", "IN	AAAA	::1")
	_, errOut, code := s.try("zone", "create", "lb.example.net", "--ns", "ns1.lb.example.net=127.0.0.1", "--ns", "ns.example.com=192.0.2.1")
	contains(t, "zone create with glue outside the zone", errOut, "ns_addresses[ns.example.com]: ns.example.com. is outside zone lb.example.net.")
	if code != 1 {
		t.Errorf("zone create with glue outside the zone: exit %d, want 1", code)
	}
	_, errOut, _ = s.try("record", "set", "lb.example.com", "ns1", "A", "--value", "127.0.0.9")
	contains(t, "record set A at a name server", errOut, "TYPE: ns1.lb.example.com. is a name server of zone lb.example.com. with addresses set on the zone (ns_addresses); its A records come from there")
	s.stop(t)
}

// TestServeBadNameServersWriteNothing: serve refuses --ns values it
// cannot use, naming the flag, before it creates anything.
func TestServeBadNameServersWriteNothing(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--zone", "lb.test", "--ns", "ns1.lb.test=192.0.2.300"}, `--zone lb.test --ns ns1.lb.test=192.0.2.300: ns_addresses[ns1.lb.test][0]: "192.0.2.300" is not an IPv4 or IPv6 address`},
		{[]string{"--zone", "lb.test", "--ns", "ns1.lb.test", "--ns", "ns.other.test=192.0.2.1"}, "--ns ns.other.test=192.0.2.1: addresses are for name servers inside a zone served here (--zone); ns.other.test is inside none, so it takes none"},
		{[]string{"--zone", "lb.test", "--ns", "bad_ns!.lb.test"}, `--zone lb.test --ns bad_ns!.lb.test: ns[0]: "bad_ns!.lb.test." contains '!'`},
		{[]string{"--nsid-value", "0xZZ"}, `--nsid-value "0xZZ": after 0x come hex digits, two per byte, e.g. 0x6e7331`},
		{[]string{"--server-id", "a\tb"}, `--server-id "a\tb": contains a control character; use printable characters`},
	} {
		data := filepath.Join(t.TempDir(), "data")
		var o, e bytes.Buffer
		code := cli.Main(append([]string{"serve", "--dns", "127.0.0.13:0", "--api", "127.0.0.13:0", "--data", data}, tc.args...), &o, &e)
		if code != 1 || !strings.Contains(e.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %s", tc.args, code, e.String(), tc.want)
		}
		if _, err := os.Stat(data); !os.IsNotExist(err) {
			t.Errorf("%v: the data directory was created (%v)", tc.args, err)
		}
	}
}

// TestServeKeepsExistingZoneNameServers: at a later start, --zone leaves
// the stored zone as it is and warns when --ns says otherwise.
func TestServeKeepsExistingZoneNameServers(t *testing.T) {
	data := t.TempDir()
	s := startServer(t, "127.0.0.82", data, "--zone", "lb.test", "--ns", "ns1.lb.test=127.0.0.82")
	s.stop(t)
	s = startServer(t, "127.0.0.82", data, "--zone", "lb.test", "--ns", "ns1.lb.test=127.0.0.83")
	contains(t, "zone ls", s.run(t, "zone", "ls"), "ns1.lb.test.=127.0.0.82")
	s.stop(t)
	contains(t, "serve's log", s.stderr.String(), `msg="the zone exists with other name servers than --ns gives; it is left as it is`,
		`zone=lb.test. stored="ns1.lb.test.=127.0.0.82" flags="ns1.lb.test.=127.0.0.83"`)
}
