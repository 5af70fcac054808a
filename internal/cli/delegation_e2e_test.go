//go:build linux

package cli_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// Addresses of the delegation test. Glue carries addresses, not ports, so
// dnslb must listen on port 53: on an address of its own in 127/8, which
// no other test uses.
const (
	delegatedDNS = "127.53.0.1"
	resolverAddr = "127.53.0.2"
	fakeRoot     = "127.53.0.3" // nothing listens: the resolver must never need the root
)

// TestResolverFollowsDelegation: a real resolver (Debian's unbound)
// delegates lb.example.com to a dnslb server as a parent zone would, with
// stub-prime (it asks dnslb for the zone's NS and their glue and then
// queries the name servers found), and resolves a weighted name and a
// name server's address through it. unbound sends only from 127.0.0.1
// and knows only a fake root on loopback, so it reaches nothing else.
func TestResolverFollowsDelegation(t *testing.T) {
	unbound := tool(t, "/usr/sbin/unbound", "unbound")
	if os.Geteuid() != 0 {
		t.Skip("needs root: glue has no port, so dnslb listens on port 53")
	}
	s := startServerAt(t, delegatedDNS+":53", delegatedDNS+":0", t.TempDir(), "--zone", "lb.example.com",
		"--ns", "ns1.lb.example.com="+delegatedDNS, "--ns", "ns2.lb.example.com="+delegatedDNS)
	for i, w := range []string{"10", "30"} {
		s.run(t, "record", "set", "lb.example.com", "www", "A", "--set-id", fmt.Sprint("i-", i), "--weight", w,
			"--ttl", "60", "--value", fmt.Sprint("127.0.1.", i+1))
	}
	addr := startUnbound(t, unbound)
	r := resolve(t, addr, "www.lb.example.com.", dns.TypeA)
	if r.Rcode != dns.RcodeSuccess || !r.RecursionAvailable || len(r.Answer) != 1 {
		t.Fatalf("www.lb.example.com A through unbound:\n%v", r)
	}
	if a := r.Answer[0].(*dns.A).A.String(); a != "127.0.1.1" && a != "127.0.1.2" {
		t.Errorf("www.lb.example.com A = %s, want one of the weighted sets", a)
	}
	r = resolve(t, addr, "ns2.lb.example.com.", dns.TypeA)
	if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 || r.Answer[0].(*dns.A).A.String() != delegatedDNS {
		t.Errorf("ns2.lb.example.com A through unbound:\n%v", r)
	}
	r = resolve(t, addr, "lb.example.com.", dns.TypeNS)
	if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 2 {
		t.Errorf("lb.example.com NS through unbound:\n%v", r)
	}
	s.stop(t)
}

// resolve asks the resolver at addr, with recursion desired.
func resolve(t *testing.T, addr, name string, qtype uint16) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	c := &dns.Client{Timeout: 10 * time.Second}
	r, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("%s through unbound: %v", name, err)
	}
	return r
}

// startUnbound runs unbound in the foreground on resolverAddr:53 with
// lb.example.com stubbed to dnslb, until the test ends; it returns the
// address to query.
func startUnbound(t *testing.T, bin string) string {
	t.Helper()
	dir := t.TempDir()
	hints := filepath.Join(dir, "root.hints")
	write(t, hints, fmt.Sprintf(".\t3600000\tNS\ta.root.test.\na.root.test.\t3600000\tA\t%s\n", fakeRoot))
	conf := filepath.Join(dir, "unbound.conf")
	write(t, conf, fmt.Sprintf(`server:
	interface: %[1]s
	port: 53
	outgoing-interface: 127.0.0.1
	do-ip6: no
	do-daemonize: no
	username: ""
	chroot: ""
	directory: %[2]q
	pidfile: ""
	logfile: ""
	use-syslog: no
	verbosity: 1
	num-threads: 1
	access-control: 127.0.0.0/8 allow
	do-not-query-localhost: no
	module-config: "iterator"
	qname-minimisation: no
	root-hints: %[3]q
remote-control:
	control-enable: no
stub-zone:
	name: "lb.example.com"
	stub-addr: %[4]s@53
	stub-prime: yes
`, resolverAddr, dir, hints, delegatedDNS))
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "-d", "-c", conf)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = cmd.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("unbound: %v", err)
	}
	log := make(chan string, 1)
	started := make(chan bool, 1)
	go func() {
		var all strings.Builder
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			all.WriteString(sc.Text() + "\n")
			if strings.Contains(sc.Text(), "start of service") {
				started <- true
			}
		}
		log <- all.String()
	}()
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
	})
	select {
	case <-started:
	case out := <-log:
		t.Fatalf("unbound exited:\n%s", out)
	case <-time.After(30 * time.Second):
		t.Fatal("unbound did not start within 30s")
	}
	return resolverAddr + ":53"
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
