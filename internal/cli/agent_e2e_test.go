package cli_test

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// The end-to-end proof: real server, real agents, real backends,
// clients that cache answers for their TTL, loopback only.
const (
	e2eTTL    = 2               // seconds
	e2eLease  = 3 * time.Second // lease of every agent
	e2eMargin = 500 * time.Millisecond
)

// app is one instance's application: an HTTP server on its own loopback
// address that says who it is, with a health endpoint the test can fail.
type app struct {
	ip      string
	port    int
	srv     *httptest.Server
	healthy atomic.Bool
}

// startApp serves an app on ip:port; port 0 lets the kernel choose (see
// app.port).
func startApp(t *testing.T, ip string, port int) *app {
	t.Helper()
	ln, err := net.Listen("tcp", fmt.Sprintf("%s:%d", ip, port))
	if err != nil {
		t.Fatal(err)
	}
	return serveApp(t, ln)
}

// startApps serves an app on each of ips, all on one port, and returns
// that port. The port is bound on the first address by the kernel and
// taken on the others at once; when one of them holds it already, another
// port is tried. Nothing binds a port found free earlier: another process
// could take it meanwhile.
func startApps(t *testing.T, ips ...string) (int, map[string]*app) {
	t.Helper()
	for range 50 {
		lns, err := listenSamePort(ips)
		if err != nil {
			continue
		}
		apps := map[string]*app{}
		for i, ip := range ips {
			apps[ip] = serveApp(t, lns[i])
		}
		return lns[0].Addr().(*net.TCPAddr).Port, apps
	}
	t.Fatalf("no port free on all of %v", ips)
	return 0, nil
}

func listenSamePort(ips []string) ([]net.Listener, error) {
	first, err := net.Listen("tcp", ips[0]+":0")
	if err != nil {
		return nil, err
	}
	lns := []net.Listener{first}
	port := first.Addr().(*net.TCPAddr).Port
	for _, ip := range ips[1:] {
		ln, err := net.Listen("tcp", fmt.Sprintf("%s:%d", ip, port))
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
			return nil, err
		}
		lns = append(lns, ln)
	}
	return lns, nil
}

func serveApp(t *testing.T, ln net.Listener) *app {
	t.Helper()
	ip := ln.Addr().(*net.TCPAddr).IP.String()
	a := &app{ip: ip, port: ln.Addr().(*net.TCPAddr).Port}
	a.healthy.Store(true)
	a.srv = &httptest.Server{Listener: ln, Config: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" && !a.healthy.Load() {
			http.Error(w, "unhealthy", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, ip)
	})}}
	a.srv.Start()
	t.Cleanup(a.srv.Close)
	return a
}

// agentProc is a `dnslb agent` subprocess.
type agentProc struct {
	cmd    *exec.Cmd
	out    *syncBuffer
	exited chan struct{}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func startAgent(t *testing.T, env []string, args ...string) *agentProc {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"agent"}, args...)...)
	cmd.Env = append(append(os.Environ(), "DNSLB_TEST_MAIN=1"), env...)
	p := &agentProc{cmd: cmd, out: &syncBuffer{}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = cmd.Process.Kill()
			<-p.exited
		}
	})
	return p
}

func (p *agentProc) waitExit(t *testing.T, timeout time.Duration) {
	t.Helper()
	select {
	case <-p.exited:
	case <-time.After(timeout):
		t.Fatalf("agent did not exit within %s:\n%s", timeout, p.out)
	}
}

// fleet is a set of clients: each resolves www.lb.test through its own
// cache that honours the TTL, and sends HTTP requests to the answer.
type fleet struct {
	dnsAddr string
	port    int
	http    *http.Client

	mu          sync.Mutex
	resolutions map[string]int // fresh answers by address
	served      map[string]int // successful requests by address
	failures    []failure
}

type failure struct {
	at   time.Time
	addr string
	err  string
}

func newFleet(dnsAddr string, port int) *fleet {
	return &fleet{dnsAddr: dnsAddr, port: port, resolutions: map[string]int{}, served: map[string]int{},
		http: &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}}
}

// run starts n clients sending a request every interval until stop closes.
func (f *fleet) run(n int, interval time.Duration, stop <-chan struct{}) *sync.WaitGroup {
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f.client(interval, stop)
		}()
	}
	return &wg
}

func (f *fleet) client(interval time.Duration, stop <-chan struct{}) {
	var addr string
	var expires time.Time
	c := &dns.Client{Timeout: 2 * time.Second}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		if time.Now().After(expires) {
			m := new(dns.Msg)
			m.SetQuestion("www.lb.test.", dns.TypeA)
			r, _, err := c.Exchange(m, f.dnsAddr)
			if err == nil && len(r.Answer) > 0 {
				a := r.Answer[0].(*dns.A)
				addr, expires = a.A.String(), time.Now().Add(time.Duration(a.Hdr.Ttl)*time.Second)
				f.note(func() { f.resolutions[addr]++ })
			}
		}
		if addr != "" {
			f.request(addr)
		}
		select {
		case <-tick.C:
		case <-stop:
			return
		}
	}
}

func (f *fleet) request(addr string) {
	resp, err := f.http.Get(fmt.Sprintf("http://%s:%d/", addr, f.port))
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
	}
	f.note(func() {
		if err != nil {
			f.failures = append(f.failures, failure{time.Now(), addr, err.Error()})
			return
		}
		f.served[addr]++
	})
}

func (f *fleet) note(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn()
}

// snapshot returns copies of the counters and resets them.
func (f *fleet) reset() (resolutions, served map[string]int, failures []failure) {
	f.mu.Lock()
	defer f.mu.Unlock()
	resolutions, served, failures = f.resolutions, f.served, f.failures
	f.resolutions, f.served, f.failures = map[string]int{}, map[string]int{}, nil
	return
}

// logGap is the time between the first log lines containing from and to.
func logGap(t *testing.T, log, from, to string) time.Duration {
	t.Helper()
	at := func(marker string) time.Time {
		for _, line := range strings.Split(log, "\n") {
			if strings.Contains(line, marker) {
				f := strings.Fields(line)
				ts, err := time.Parse(time.RFC3339Nano, strings.TrimPrefix(f[0], "time="))
				if err == nil {
					return ts
				}
			}
		}
		t.Fatalf("no log line with %s:\n%s", marker, log)
		return time.Time{}
	}
	return at(to).Sub(at(from))
}

// chiSquare compares counts with weights; df = len(weights) - 1.
func chiSquare(counts map[string]int, weights map[string]float64) float64 {
	var n, total, chi2 float64
	for _, c := range counts {
		n += float64(c)
	}
	for _, w := range weights {
		total += w
	}
	for k, w := range weights {
		exp := n * w / total
		chi2 += math.Pow(float64(counts[k])-exp, 2) / exp
	}
	return chi2
}

func agentArgs(s *server, ip, id string, weight, port int) []string {
	return []string{"--server", "http://" + s.api, "--zone", "lb.test", "--name", "www",
		"--identity", "static", "--set-id", id, "--address", ip, "--weight", fmt.Sprint(weight),
		"--ttl", fmt.Sprint(e2eTTL), "--lease", e2eLease.String(), "--drain-margin", e2eMargin.String(),
		"--check", fmt.Sprintf("http://%s:%d/health", ip, port), "--check-interval", "200ms", "--rise", "1", "--fall", "2"}
}

func TestAgentFleetEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end fleet test")
	}
	ips := []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"}
	weights := map[string]float64{"127.0.0.2": 10, "127.0.0.3": 20, "127.0.0.4": 30}
	port, apps := startApps(t, ips...)
	s := startServer(t, "127.0.0.19", t.TempDir(), "--zone", "lb.test")
	agents := map[string]*agentProc{}
	for _, ip := range ips {
		agents[ip] = startAgent(t, nil, agentArgs(s, ip, "i-"+ip, int(weights[ip]), port)...)
	}
	eventually(t, 30*time.Second, "three agents registered", func() bool { return len(s.answers(t, 60)) == 3 })

	f := newFleet(s.dns, port)
	stop := make(chan struct{})
	wg := f.run(40, 100*time.Millisecond, stop)
	defer func() { close(stop); wg.Wait() }()

	// 1. The traffic split follows the weights: each fresh resolution of a
	// caching client is one weighted draw.
	dnsShares := s.answers(t, 3000)
	if chi2 := chiSquare(dnsShares, weights); chi2 > 13.82 { // df 2, p 0.001
		t.Errorf("DNS answers %v for weights %v: chi-square %.1f", dnsShares, weights, chi2)
	}
	eventually(t, 60*time.Second, "200 client resolutions", func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		n := 0
		for _, c := range f.resolutions {
			n += c
		}
		return n >= 200
	})
	res, served, fails := f.reset()
	if chi2 := chiSquare(res, weights); chi2 > 13.82 {
		t.Errorf("client resolutions %v for weights %v: chi-square %.1f", res, weights, chi2)
	}
	t.Logf("1. split: resolutions %v, requests %v, failures %d", res, served, len(fails))
	if len(fails) > 0 {
		t.Errorf("failures in steady state: %v", fails)
	}

	// 4. (before 2 and 3, while three are up) A failing health endpoint takes
	// the instance out within fall × interval (plus a renewal); restored, it
	// returns.
	apps["127.0.0.4"].healthy.Store(false)
	start := time.Now()
	eventually(t, 20*time.Second, "127.0.0.4 out of answers", func() bool { return s.answers(t, 30)["127.0.0.4"] == 0 })
	t.Logf("4. unhealthy 127.0.0.4 left answers after %s (fall 2 × 200ms)", time.Since(start).Round(time.Millisecond))
	apps["127.0.0.4"].healthy.Store(true)
	start = time.Now()
	eventually(t, 20*time.Second, "127.0.0.4 back in answers", func() bool { return s.answers(t, 30)["127.0.0.4"] > 0 })
	t.Logf("4. recovered 127.0.0.4 returned after %s", time.Since(start).Round(time.Millisecond))

	// 2. SIGTERM one agent; stop its application only once the agent has
	// exited: no request fails, and the agent exits within TTL + margin.
	f.reset()
	a := agents["127.0.0.2"]
	if err := a.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	a.waitExit(t, 60*time.Second)
	if code := a.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("drained agent exited %d:\n%s", code, a.out)
	}
	// The drain's own timing, from the agent's log: from the signal to the
	// deregistration (process start-up and exit are the machine's business).
	took := logGap(t, a.out.String(), `msg="drain requested"`, `msg="drained`)
	if limit := time.Duration(e2eTTL)*time.Second + e2eMargin + 300*time.Millisecond; took > limit {
		t.Errorf("the drain took %s; TTL + margin is %s", took, limit)
	}
	apps["127.0.0.2"].srv.Close()
	time.Sleep(time.Duration(e2eTTL) * time.Second) // let any client still holding it try
	_, served, fails = f.reset()
	t.Logf("2. SIGTERM: drain took %s from signal to deregistration (TTL %ds + margin %s); requests %v; failed %d", took.Round(time.Millisecond), e2eTTL, e2eMargin, served, len(fails))
	if len(fails) != 0 {
		t.Errorf("requests failed during a graceful drain: %v", fails)
	}
	if !strings.Contains(a.out.String(), "drained") {
		t.Errorf("agent log lacks the drain:\n%s", a.out)
	}

	// 3. kill -9 an agent and its application together: the address leaves
	// answers within the lease, and requests fail only until lease + TTL.
	b := agents["127.0.0.3"]
	killed := time.Now()
	_ = b.cmd.Process.Signal(syscall.SIGKILL)
	apps["127.0.0.3"].srv.Close()
	eventually(t, 20*time.Second, "127.0.0.3 out of answers", func() bool { return s.answers(t, 30)["127.0.0.3"] == 0 })
	gone := time.Since(killed)
	time.Sleep(time.Duration(e2eTTL)*time.Second + 500*time.Millisecond)
	_, served, fails = f.reset()
	bound := e2eLease + time.Duration(e2eTTL)*time.Second + time.Second
	late := 0
	for _, fl := range fails {
		if fl.at.Sub(killed) > bound {
			late++
		}
	}
	t.Logf("3. kill -9: address left answers after %s (lease %s); %d requests failed, all within %s of the kill: %v; served %v",
		gone.Round(time.Millisecond), e2eLease, len(fails), bound, late == 0, served)
	if gone > e2eLease+2*time.Second {
		t.Errorf("crashed instance left answers only after %s, lease %s", gone, e2eLease)
	}
	if late > 0 {
		t.Errorf("%d requests failed later than lease + TTL after the crash", late)
	}
}
