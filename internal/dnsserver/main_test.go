package dnsserver_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"github.com/dnslb/dnslb/internal/dnsserver"
	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/zone"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// firstRand always draws 0: a weighted choice takes the first set (in set
// id order) of the tier that applies, a multivalue one the first eight.
type firstRand struct{}

func (firstRand) Uint64N(uint64) uint64 { return 0 }

// testServer is a running server on 127.0.0.1 with its snapshot, registry
// and error log.
type testServer struct {
	*dnsserver.Server
	snap *atomic.Pointer[zone.Snapshot]
	reg  *prometheus.Registry
	errs *errorLog
}

// start serves snap on 127.0.0.1:0 over UDP and TCP until the test ends;
// edit may change the config. The sockets are bound when start returns,
// so queries need no wait. At cleanup, Run must return nil and the handler
// must not have logged an error (a recovered panic).
func start(t testing.TB, snap *zone.Snapshot, edit func(*dnsserver.Config)) *testServer {
	t.Helper()
	ts := &testServer{snap: new(atomic.Pointer[zone.Snapshot]), reg: prometheus.NewRegistry(), errs: new(errorLog)}
	ts.snap.Store(snap)
	// Most tests ask far faster than any resolver: loopback is exempt from
	// RRL (still counted) unless edit says otherwise.
	rrl := dnsserver.DefaultRRL()
	rrl.Exempt = loopback
	cfg := dnsserver.Config{Addr: "127.0.0.1:0", Snapshot: ts.snap, Registerer: ts.reg, Logger: slog.New(ts.errs), RRL: &rrl}
	if edit != nil {
		edit(&cfg)
	}
	srv, err := dnsserver.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatalf("Listen: %v", err)
	}
	ts.Server = srv
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after cancel")
		}
		if errs := ts.errs.all(); len(errs) > 0 {
			t.Errorf("server logged errors: %q", errs)
		}
	})
	return ts
}

// loopback is 127.0.0.0/8 and ::1.
var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

// errorLog is a slog.Handler that keeps the messages of error records.
type errorLog struct {
	mu   sync.Mutex
	msgs []string
}

func (l *errorLog) Enabled(_ context.Context, lvl slog.Level) bool { return lvl >= slog.LevelError }
func (l *errorLog) WithAttrs([]slog.Attr) slog.Handler             { return l }
func (l *errorLog) WithGroup(string) slog.Handler                  { return l }

func (l *errorLog) Handle(_ context.Context, r slog.Record) error {
	msg := r.Message
	r.Attrs(func(a slog.Attr) bool { msg += " " + a.String(); return true })
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs = append(l.msgs, msg)
	return nil
}

func (l *errorLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.msgs)
}

// exchange sends m over network ("udp" or "tcp") and returns the reply.
func exchange(t testing.TB, network, addr string, m *dns.Msg) *dns.Msg {
	t.Helper()
	c := &dns.Client{Net: network, Timeout: 5 * time.Second}
	r, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("%s exchange of %v: %v", network, m.Question, err)
	}
	return r
}

// query is a plain query without EDNS and without RD.
func query(name string, qtype uint16) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.RecursionDesired = false
	return m
}

// rr parses a record in presentation format.
func rr(s string) dns.RR {
	r, err := dns.NewRR(s)
	if err != nil {
		panic(fmt.Sprintf("dns.NewRR(%q): %v", s, err))
	}
	return r
}

func rrs(ss ...string) []dns.RR {
	out := make([]dns.RR, len(ss))
	for i, s := range ss {
		out[i] = rr(s)
	}
	return out
}

// sectionStrings renders a section for comparison: RRsets stay in the
// order they came (a CNAME before its target), records within one RRset
// are sorted (their order carries no meaning).
func sectionStrings(rrs []dns.RR) []string {
	type rrset struct {
		key string
		rrs []string
	}
	var sets []*rrset
	for _, r := range rrs {
		h := r.Header()
		key := h.Name + " " + dns.TypeToString[h.Rrtype]
		i := slices.IndexFunc(sets, func(s *rrset) bool { return s.key == key })
		if i < 0 {
			sets, i = append(sets, &rrset{key: key}), len(sets)
		}
		sets[i].rrs = append(sets[i].rrs, r.String())
	}
	var out []string
	for _, s := range sets {
		slices.Sort(s.rrs)
		out = append(out, s.rrs...)
	}
	return out
}

// Case is one query and the reply it must get, in the manner of CoreDNS's
// test.Case.
type Case struct {
	Qname  string
	Qtype  uint16
	Rcode  int
	Answer []dns.RR
	Ns     []dns.RR
	Extra  []dns.RR
}

func (tc Case) String() string {
	return strings.TrimSuffix(tc.Qname, ".") + "/" + dns.TypeToString[tc.Qtype]
}

// check runs tc against addr over network and reports any difference.
func (tc Case) check(t *testing.T, network, addr string) {
	t.Helper()
	r := exchange(t, network, addr, query(tc.Qname, tc.Qtype))
	if r.Rcode != tc.Rcode {
		t.Errorf("rcode %s, want %s", dns.RcodeToString[r.Rcode], dns.RcodeToString[tc.Rcode])
	}
	if wantAA := tc.Rcode != dns.RcodeRefused; r.Authoritative != wantAA || r.RecursionAvailable || !r.Response || r.Truncated {
		t.Errorf("flags aa=%v ra=%v qr=%v tc=%v; want aa=%v, ra, tc clear, qr set", r.Authoritative, r.RecursionAvailable, r.Response, r.Truncated, wantAA)
	}
	if len(r.Question) != 1 || r.Question[0] != (dns.Question{Name: tc.Qname, Qtype: tc.Qtype, Qclass: dns.ClassINET}) {
		t.Errorf("question %v, want %s as asked", r.Question, tc.Qname)
	}
	if diff := cmp.Diff(sectionStrings(tc.Answer), sectionStrings(r.Answer)); diff != "" {
		t.Errorf("answer (-want +got):\n%s", diff)
	}
	// Owners in the authority may take the question's case or not (a
	// compression pointer into the question gives its case): both are the
	// same name.
	if diff := cmp.Diff(sectionStrings(tc.Ns), sectionStrings(r.Ns), cmpopts.AcyclicTransformer("lower", strings.ToLower)); diff != "" {
		t.Errorf("authority (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(sectionStrings(tc.Extra), sectionStrings(r.Extra)); diff != "" {
		t.Errorf("additional (-want +got):\n%s", diff)
	}
}

// set returns an active record set of zone z with TTL 60.
func set(z, name string, typ record.Type, id string, weight int, values ...string) record.Set {
	return record.Set{
		Key:    record.Key{Zone: z, Name: name, Type: typ, SetID: id},
		Weight: weight, TTL: 60, Values: values, State: record.Active,
	}
}

// addrs returns n distinct IPv6 addresses (for big answers).
func addrs(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("2001:db8:1::%x", i+1)
	}
	return out
}

// fixture is lb.test. (SOA TTL 900, minimum 5, two name servers) with a
// nested sub.lb.test. (SOA TTL 300, minimum 600). Sets whose id starts
// with "down" are not eligible.
func fixture() zone.Input {
	lb := record.NewZone("lb.test.")
	lb.NS = []string{"ns1.lb.test.", "ns2.lb.test."}
	lb.Policies = map[string]record.Policy{
		"empty.lb.test.":  record.Weighted,
		"closed.lb.test.": record.FailClosed,
		"multi.lb.test.":  record.Multivalue,
		"many.lb.test.":   record.Multivalue,
	}
	sub := record.NewZone("sub.lb.test.")
	sub.SOA.TTL, sub.SOA.Minimum = 300, 600
	const z, s = "lb.test.", "sub.lb.test."
	drained := set(z, "drained.lb.test.", record.A, "i-9", 10, "10.9.9.9")
	drained.State = record.Draining
	sets := []record.Set{
		set(z, "www.lb.test.", record.A, "", 0, "192.0.2.1", "192.0.2.2"),
		set(z, "www.lb.test.", record.AAAA, "", 0, "2001:db8::1"),
		set(z, "txt.lb.test.", record.TXT, "", 0, "v=spf1 -all"),
		set(z, "long.lb.test.", record.TXT, "", 0, strings.Repeat("a", 255)+strings.Repeat("b", 45)),
		set(z, "quote.lb.test.", record.TXT, "", 0, `say "hi" \o/`),
		set(z, "mx.lb.test.", record.MX, "", 0, "10 mail.lb.test."),
		set(z, "mail.lb.test.", record.A, "", 0, "192.0.2.25"),
		set(z, "_sip._tcp.lb.test.", record.SRV, "", 0, "10 20 5060 sip.lb.test."),
		set(z, "alias.lb.test.", record.CNAME, "", 0, "www.lb.test."),
		set(z, "out.lb.test.", record.CNAME, "", 0, "www.example.com."),
		set(z, "dangling.lb.test.", record.CNAME, "", 0, "nothere.lb.test."),
		set(z, "cross.lb.test.", record.CNAME, "", 0, "www.sub.lb.test."),
		set(z, "pool.lb.test.", record.A, "i-1", 10, "10.0.0.1", "10.0.0.2"),
		set(z, "pool.lb.test.", record.A, "i-2", 30, "10.0.0.3"),
		set(z, "a.b.lb.test.", record.A, "", 0, "192.0.2.10"),
		set(z, "closed.lb.test.", record.A, "down-1", 10, "10.2.0.1"),
		set(z, "open.lb.test.", record.A, "down-1", 10, "10.3.0.1"),
		set(z, "open.lb.test.", record.A, "down-2", 20, "10.3.0.2"),
		set(z, "big.lb.test.", record.AAAA, "", 0, addrs(30)...),
		set(z, "huge.lb.test.", record.AAAA, "", 0, addrs(60)...),
		set(z, "edge.lb.test.", record.AAAA, "", 0, addrs(17)...),
		set(s, "www.sub.lb.test.", record.A, "", 0, "198.51.100.1"),
		drained,
	}
	for i := range 10 {
		sets = append(sets, set(z, "multi.lb.test.", record.A, fmt.Sprintf("m-%d", i), 10, fmt.Sprintf("10.1.0.%d", i)))
	}
	for i := range 12 {
		sets = append(sets, set(z, "many.lb.test.", record.A, fmt.Sprintf("n-%02d", i), 1+i, fmt.Sprintf("10.5.0.%d", i), fmt.Sprintf("10.5.1.%d", i)))
	}
	return zone.Input{
		Rev:      42,
		Zones:    []record.Zone{lb, sub},
		Sets:     sets,
		Eligible: func(s *record.Set) bool { return !strings.HasPrefix(s.SetID, "down") },
	}
}

// Records of the fixture that many cases share.
var (
	lbSOA     = "lb.test. 900 IN SOA ns1.lb.test. hostmaster.lb.test. 42 3600 600 86400 5"
	lbNegSOA  = "lb.test. 5 IN SOA ns1.lb.test. hostmaster.lb.test. 42 3600 600 86400 5"
	lbNS      = []string{"lb.test. 900 IN NS ns1.lb.test.", "lb.test. 900 IN NS ns2.lb.test."}
	subSOA    = "sub.lb.test. 300 IN SOA ns1.sub.lb.test. hostmaster.sub.lb.test. 42 3600 600 86400 600"
	subNegSOA = "sub.lb.test. 300 IN SOA ns1.sub.lb.test. hostmaster.sub.lb.test. 42 3600 600 86400 600"
	subNS     = "sub.lb.test. 300 IN NS ns1.sub.lb.test."
)

// dial opens a connection to addr for raw packets.
func dial(t testing.TB, network, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial(network, addr)
	if err != nil {
		t.Fatalf("dial %s %s: %v", network, addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
