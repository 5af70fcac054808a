package zone_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/miekg/dns"
	"go.uber.org/goleak"

	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/zone"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// firstRand always draws 0: a weighted choice takes the first set (in set
// id order) of the tier that applies, a multivalue one the first eight.
type firstRand struct{}

func (firstRand) Uint64N(uint64) uint64 { return 0 }

// set returns an active record set of zone z.
func set(z, name string, typ record.Type, id string, weight int, values ...string) record.Set {
	return record.Set{
		Key:    record.Key{Zone: z, Name: name, Type: typ, SetID: id},
		Weight: weight, TTL: 60, Values: values, State: record.Active,
	}
}

// input is a small world: lb.test. with a nested sub.lb.test.
func input() zone.Input {
	lb := record.NewZone("lb.test.")
	lb.Policies = map[string]record.Policy{
		"empty.lb.test.":  record.Weighted,
		"closed.lb.test.": record.FailClosed,
		"multi.lb.test.":  record.Multivalue,
		"else.where.":     record.Weighted, // outside the zone: ignored
	}
	sub := record.NewZone("sub.lb.test.")
	sub.SOA.TTL, sub.SOA.Minimum = 300, 600
	const z, s = "lb.test.", "sub.lb.test."
	drained := set(z, "drained.lb.test.", record.A, "i-9", 10, "10.9.9.9")
	drained.State = record.Draining
	sets := []record.Set{
		set(z, "www.lb.test.", record.A, "", 0, "192.0.2.1", "192.0.2.2"),
		set(z, "alias.lb.test.", record.CNAME, "", 0, "www.lb.test."),
		set(z, "out.lb.test.", record.CNAME, "", 0, "www.example.com."),
		set(z, "dangling.lb.test.", record.CNAME, "", 0, "nothere.lb.test."),
		set(z, "cross.lb.test.", record.CNAME, "", 0, "www.sub.lb.test."),
		set(z, "loop1.lb.test.", record.CNAME, "", 0, "loop2.lb.test."),
		set(z, "loop2.lb.test.", record.CNAME, "", 0, "loop1.lb.test."),
		set(z, "pool.lb.test.", record.A, "i-2", 30, "10.0.0.3"),
		set(z, "pool.lb.test.", record.A, "i-1", 10, "10.0.0.1", "10.0.0.2"),
		set(z, "a.b.lb.test.", record.A, "", 0, "192.0.2.10"),
		set(z, "closed.lb.test.", record.A, "down-1", 10, "10.2.0.1"),
		set(z, "open.lb.test.", record.A, "down-1", 10, "10.3.0.1"),
		set(z, "open.lb.test.", record.A, "down-2", 20, "10.3.0.2"),
		set(z, "gone.lb.test.", record.A, "gone-1", 10, "10.4.0.1"),
		set("nowhere.test.", "www.nowhere.test.", record.A, "", 0, "192.0.2.99"),
		set(s, "www.sub.lb.test.", record.A, "", 0, "198.51.100.1"),
		drained,
	}
	for i := range 10 {
		sets = append(sets, set(z, "multi.lb.test.", record.A, "m-"+string(rune('0'+i)), 10, "10.1.0."+string(rune('0'+i))))
	}
	return zone.Input{
		Rev:      42,
		Zones:    []record.Zone{lb, sub},
		Sets:     sets,
		Eligible: func(s *record.Set) bool { return !strings.HasPrefix(s.SetID, "down") },
		Gone:     func(s *record.Set) bool { return strings.HasPrefix(s.SetID, "gone") },
	}
}

func TestLookup(t *testing.T) {
	snap := zone.Build(input())
	cases := []struct {
		qname  string
		qtype  uint16
		kind   zone.Kind
		origin string   // zone of the result; "" when Refused
		answer []string // in order
	}{
		{"lb.test.", dns.TypeSOA, zone.Success, "lb.test.", []string{"lb.test.\t900\tIN\tSOA\tns1.lb.test. hostmaster.lb.test. 42 3600 600 86400 5"}},
		{"lb.test.", dns.TypeNS, zone.Success, "lb.test.", []string{"lb.test.\t900\tIN\tNS\tns1.lb.test."}},
		{"lb.test.", dns.TypeA, zone.NoData, "lb.test.", nil},
		{"www.lb.test.", dns.TypeA, zone.Success, "lb.test.", []string{"www.lb.test.\t60\tIN\tA\t192.0.2.1", "www.lb.test.\t60\tIN\tA\t192.0.2.2"}},
		{"www.lb.test.", dns.TypeAAAA, zone.NoData, "lb.test.", nil},
		{"missing.lb.test.", dns.TypeA, zone.NXDomain, "lb.test.", nil},
		{"b.lb.test.", dns.TypeA, zone.NoData, "lb.test.", nil},     // empty non-terminal
		{"empty.lb.test.", dns.TypeA, zone.NoData, "lb.test.", nil}, // policy only
		{"drained.lb.test.", dns.TypeA, zone.NoData, "lb.test.", nil},
		{"gone.lb.test.", dns.TypeA, zone.NoData, "lb.test.", nil},
		{"closed.lb.test.", dns.TypeA, zone.NoData, "lb.test.", nil},
		{"open.lb.test.", dns.TypeA, zone.Success, "lb.test.", []string{"open.lb.test.\t60\tIN\tA\t10.3.0.1"}},
		{"pool.lb.test.", dns.TypeA, zone.Success, "lb.test.", []string{"pool.lb.test.\t60\tIN\tA\t10.0.0.1", "pool.lb.test.\t60\tIN\tA\t10.0.0.2"}},
		{"alias.lb.test.", dns.TypeA, zone.Success, "lb.test.", []string{
			"alias.lb.test.\t60\tIN\tCNAME\twww.lb.test.", "www.lb.test.\t60\tIN\tA\t192.0.2.1", "www.lb.test.\t60\tIN\tA\t192.0.2.2"}},
		{"alias.lb.test.", dns.TypeCNAME, zone.Success, "lb.test.", []string{"alias.lb.test.\t60\tIN\tCNAME\twww.lb.test."}},
		{"out.lb.test.", dns.TypeA, zone.Success, "lb.test.", []string{"out.lb.test.\t60\tIN\tCNAME\twww.example.com."}},
		{"dangling.lb.test.", dns.TypeA, zone.NXDomain, "lb.test.", []string{"dangling.lb.test.\t60\tIN\tCNAME\tnothere.lb.test."}},
		{"cross.lb.test.", dns.TypeA, zone.Success, "sub.lb.test.", []string{
			"cross.lb.test.\t60\tIN\tCNAME\twww.sub.lb.test.", "www.sub.lb.test.\t60\tIN\tA\t198.51.100.1"}},
		{"sub.lb.test.", dns.TypeSOA, zone.Success, "sub.lb.test.", []string{"sub.lb.test.\t300\tIN\tSOA\tns1.sub.lb.test. hostmaster.sub.lb.test. 42 3600 600 86400 600"}},
		{"x.sub.lb.test.", dns.TypeA, zone.NXDomain, "sub.lb.test.", nil},
		{"example.com.", dns.TypeA, zone.Refused, "", nil},
		{"test.", dns.TypeA, zone.Refused, "", nil},
		{".", dns.TypeNS, zone.Refused, "", nil},
		{"www.nowhere.test.", dns.TypeA, zone.Refused, "", nil}, // its zone is not in Input.Zones
		{"else.where.", dns.TypeA, zone.Refused, "", nil},
		{`x\.lb.test.`, dns.TypeA, zone.Refused, "", nil}, // one label "x.lb" under test.
		{`a\.b.lb.test.`, dns.TypeA, zone.NXDomain, "lb.test.", nil},
	}
	var res zone.Result
	for _, tc := range cases {
		res.Reset()
		snap.Lookup(tc.qname, tc.qtype, firstRand{}, &res)
		name := tc.qname + " " + dns.TypeToString[tc.qtype]
		if res.Kind != tc.kind {
			t.Errorf("%s: kind %d, want %d", name, res.Kind, tc.kind)
		}
		origin := ""
		if res.Zone != nil {
			origin = res.Zone.Origin
		}
		if tc.kind != zone.Refused && origin != tc.origin {
			t.Errorf("%s: zone %q, want %q", name, origin, tc.origin)
		}
		if diff := cmp.Diff(tc.answer, rrStrings(res.Answer)); diff != "" {
			t.Errorf("%s: answer (-want +got):\n%s", name, diff)
		}
	}
}

func rrStrings(rrs []dns.RR) []string {
	var out []string
	for _, rr := range rrs {
		out = append(out, rr.String())
	}
	return out
}

// A CNAME loop inside our zones ends at the first name seen twice, and a
// long chain after a bounded number of steps; no record repeats.
func TestLookupCNAMELoop(t *testing.T) {
	const z = "lb.test."
	in := zone.Input{Zones: []record.Zone{record.NewZone(z)}, Sets: []record.Set{
		set(z, "loop1.lb.test.", record.CNAME, "", 0, "loop2.lb.test."),
		set(z, "loop2.lb.test.", record.CNAME, "", 0, "loop1.lb.test."),
		set(z, "self.lb.test.", record.CNAME, "", 0, "self.lb.test."),
	}}
	for i := range 20 {
		in.Sets = append(in.Sets, set(z, fmt.Sprintf("c%d.lb.test.", i), record.CNAME, "", 0, fmt.Sprintf("c%d.lb.test.", i+1)))
	}
	snap := zone.Build(in)
	cases := []struct {
		qname string
		want  []string
	}{
		{"loop1.lb.test.", []string{"loop1.lb.test.\t60\tIN\tCNAME\tloop2.lb.test.", "loop2.lb.test.\t60\tIN\tCNAME\tloop1.lb.test."}},
		{"self.lb.test.", []string{"self.lb.test.\t60\tIN\tCNAME\tself.lb.test."}},
	}
	for _, tc := range cases {
		var res zone.Result
		snap.Lookup(tc.qname, dns.TypeA, firstRand{}, &res)
		if diff := cmp.Diff(tc.want, rrStrings(res.Answer)); diff != "" || res.Kind != zone.Success {
			t.Errorf("%s: kind %d, answer (-want +got):\n%s", tc.qname, res.Kind, diff)
		}
	}
	var res zone.Result
	snap.Lookup("c0.lb.test.", dns.TypeA, firstRand{}, &res)
	if n := len(res.Answer); n != 8 || res.Kind != zone.Success {
		t.Errorf("a chain of 20: kind %d with %d records, want Success with 8", res.Kind, n)
	}
}

func TestChosen(t *testing.T) {
	in := input()
	served := map[record.Key]*zone.Served{}
	in.Served = func(k record.Key) *zone.Served {
		served[k] = new(zone.Served)
		return served[k]
	}
	snap := zone.Build(in)
	var res zone.Result
	snap.Lookup("multi.lb.test.", dns.TypeA, firstRand{}, &res)
	if len(res.Chosen) != 8 || len(res.Answer) != 8 {
		t.Fatalf("multivalue chose %d sets, %d records; want 8, 8", len(res.Chosen), len(res.Answer))
	}
	for _, c := range res.Chosen {
		if c.Served == nil || c.Served != served[c.Key] {
			t.Errorf("set %s: Served not the builder's", c.Key)
		}
	}
	res.Reset()
	snap.Lookup("www.lb.test.", dns.TypeSOA, firstRand{}, &res)
	if res.Kind != zone.NoData || len(res.Chosen) != 0 {
		t.Errorf("after Reset: kind %d, %d chosen; want NoData, none", res.Kind, len(res.Chosen))
	}
}

func TestServed(t *testing.T) {
	var s zone.Served
	if !s.Last().IsZero() || s.Count() != 0 {
		t.Fatalf("zero Served: last %v, count %d", s.Last(), s.Count())
	}
	if until, ttl := s.Held(); !until.IsZero() || ttl != 0 {
		t.Fatalf("zero Served: held until %v with TTL %d", until, ttl)
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	s.Record(at.Add(-time.Second), 60)
	s.Record(at, 60)
	if !s.Last().Equal(at) || s.Count() != 2 {
		t.Errorf("Served: last %v, count %d; want %v, 2", s.Last(), s.Count(), at)
	}
	// Held: the largest served_at + TTL, rounded up to the millisecond,
	// with that answer's TTL; a later answer with a shorter TTL that
	// expires sooner does not lower it.
	steps := []struct {
		at      time.Time
		ttl     uint32
		until   time.Time
		heldTTL uint32
	}{
		{at, 60, at.Add(60*time.Second + time.Millisecond).Truncate(time.Millisecond), 60},
		{at.Add(time.Second), 300, at.Add(301*time.Second + time.Millisecond).Truncate(time.Millisecond), 300},
		{at.Add(2 * time.Second), 60, at.Add(301*time.Second + time.Millisecond).Truncate(time.Millisecond), 300},
		{at.Add(400 * time.Second), 30, at.Add(430*time.Second + time.Millisecond).Truncate(time.Millisecond), 30},
	}
	for i, st := range steps {
		s.Record(st.at, st.ttl)
		if until, ttl := s.Held(); !until.Equal(st.until) || ttl != st.heldTTL {
			t.Errorf("step %d: held until %v with TTL %d; want %v with %d", i, until, ttl, st.until, st.heldTTL)
		}
	}
}

// TestServedAssume: Assume raises Held as an answer would, counts none and
// leaves Last alone; it never lowers Held.
func TestServedAssume(t *testing.T) {
	var s zone.Served
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s.Assume(at.Add(60*time.Second), 60)
	if until, ttl := s.Held(); !until.Equal(at.Add(60*time.Second)) || ttl != 60 || s.Count() != 0 || !s.Last().IsZero() {
		t.Errorf("after Assume: held until %v with %d, count %d, last %v", until, ttl, s.Count(), s.Last())
	}
	s.Assume(at, 30)
	if until, _ := s.Held(); !until.Equal(at.Add(60 * time.Second)) {
		t.Errorf("an earlier Assume lowered Held to %v", until)
	}
}

// TestServedRecordAllocatesNothing: Record is on the query path.
func TestServedRecordAllocatesNothing(t *testing.T) {
	var s zone.Served
	at := time.Now()
	if n := testing.AllocsPerRun(100, func() { s.Record(at, 60); at = at.Add(time.Millisecond) }); n != 0 {
		t.Errorf("Record: %v allocations", n)
	}
}

func TestZoneSOA(t *testing.T) {
	in := input()
	in.Zones[0].SOA.Serial = 7 // a zone's own serial wins over the revision
	snap := zone.Build(in)
	if snap.Len() != 2 || snap.Rev != 42 {
		t.Fatalf("Len %d, Rev %d; want 2, 42", snap.Len(), snap.Rev)
	}
	cases := []struct {
		origin         string
		serial, ttl    uint32
		negTTL, minTTL uint32
	}{
		{"lb.test.", 7, 900, 5, 5},          // minimum < TTL
		{"sub.lb.test.", 42, 300, 300, 600}, // TTL < minimum
	}
	for _, tc := range cases {
		z := snap.Zone(tc.origin)
		if z == nil {
			t.Fatalf("no zone %s", tc.origin)
		}
		if z.SOA.Serial != tc.serial || z.SOA.Hdr.Ttl != tc.ttl || z.NegSOA.Hdr.Ttl != tc.negTTL ||
			z.NegSOA.Minttl != tc.minTTL || z.NegSOA.Serial != tc.serial {
			t.Errorf("%s: SOA %v, negative SOA %v", tc.origin, z.SOA, z.NegSOA)
		}
	}
	if snap.Zone("www.lb.test.") != nil {
		t.Error("Zone(www.lb.test.) is not nil")
	}
}

// Values become records that survive the wire: a TXT value over 255 bytes
// is cut into character-strings, quotes and backslashes are literal.
func TestRecordsOnTheWire(t *testing.T) {
	const z = "lb.test."
	long := strings.Repeat("a", 255) + strings.Repeat("b", 45)
	quoted := `say "hi" \o/ \065`
	in := zone.Input{Zones: []record.Zone{record.NewZone(z)}, Sets: []record.Set{
		set(z, "long.lb.test.", record.TXT, "", 0, long),
		set(z, "quote.lb.test.", record.TXT, "", 0, quoted),
		set(z, "mx.lb.test.", record.MX, "", 0, "10 mail.lb.test.", "20 ."),
		set(z, "_sip._tcp.lb.test.", record.SRV, "", 0, "10 20 5060 sip.lb.test."),
		set(z, "v6.lb.test.", record.AAAA, "", 0, "2001:db8::1"),
		set(z, "bad.lb.test.", record.MX, "", 0, "not-an-mx"),
	}}
	snap := zone.Build(in)
	cases := []struct {
		name  string
		qtype uint16
		want  []string
	}{
		{"long.lb.test.", dns.TypeTXT, []string{`long.lb.test.	60	IN	TXT	"` + long[:255] + `" "` + long[255:] + `"`}},
		{"quote.lb.test.", dns.TypeTXT, []string{`quote.lb.test.	60	IN	TXT	"say \"hi\" \\o/ \\065"`}},
		{"mx.lb.test.", dns.TypeMX, []string{"mx.lb.test.\t60\tIN\tMX\t10 mail.lb.test.", "mx.lb.test.\t60\tIN\tMX\t20 ."}},
		{"_sip._tcp.lb.test.", dns.TypeSRV, []string{"_sip._tcp.lb.test.\t60\tIN\tSRV\t10 20 5060 sip.lb.test."}},
		{"v6.lb.test.", dns.TypeAAAA, []string{"v6.lb.test.\t60\tIN\tAAAA\t2001:db8::1"}},
		{"bad.lb.test.", dns.TypeMX, nil}, // a value that does not parse is skipped
	}
	for _, tc := range cases {
		var res zone.Result
		snap.Lookup(tc.name, tc.qtype, firstRand{}, &res)
		m := new(dns.Msg)
		m.Answer = res.Answer
		wire, err := m.Pack()
		if err != nil {
			t.Fatalf("%s: Pack: %v", tc.name, err)
		}
		back := new(dns.Msg)
		if err := back.Unpack(wire); err != nil {
			t.Fatalf("%s: Unpack: %v", tc.name, err)
		}
		if diff := cmp.Diff(tc.want, rrStrings(back.Answer)); diff != "" {
			t.Errorf("%s: records after a round trip (-want +got):\n%s", tc.name, diff)
		}
	}
	// The wire holds the raw text: 255 + 45 bytes, and the quoted value as is.
	var res zone.Result
	snap.Lookup("quote.lb.test.", dns.TypeTXT, firstRand{}, &res)
	rdata := packRdata(t, res.Answer[0])
	if got := string(rdata[1:]); got != quoted || int(rdata[0]) != len(quoted) {
		t.Errorf("quoted TXT on the wire = %q, want %q", got, quoted)
	}
	res.Reset()
	snap.Lookup("long.lb.test.", dns.TypeTXT, firstRand{}, &res)
	rdata = packRdata(t, res.Answer[0])
	if len(rdata) != 1+255+1+45 || rdata[0] != 255 || rdata[256] != 45 {
		t.Errorf("long TXT on the wire: %d bytes, first length %d", len(rdata), rdata[0])
	}
}

// packRdata returns the wire rdata of rr.
func packRdata(t *testing.T, rr dns.RR) []byte {
	t.Helper()
	buf := make([]byte, dns.Len(rr)+16)
	n, err := dns.PackRR(rr, buf, 0, nil, false)
	if err != nil {
		t.Fatalf("PackRR: %v", err)
	}
	return buf[n-int(rr.Header().Rdlength) : n]
}

// A snapshot is read by many goroutines at once (run with -race).
func TestLookupConcurrent(t *testing.T) {
	snap := zone.Build(input())
	done := make(chan struct{})
	for range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			var res zone.Result
			for range 200 {
				res.Reset()
				snap.Lookup("multi.lb.test.", dns.TypeA, firstRand{}, &res)
			}
		}()
	}
	for range 4 {
		<-done
	}
}
