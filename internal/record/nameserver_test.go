package record

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestZoneNameServers pins the message of every invalid name server list
// and shows the canonical form of a valid one.
func TestZoneNameServers(t *testing.T) {
	many := make([]string, MaxNameServers+1)
	for i := range many {
		many[i] = fmt.Sprintf("ns%d.lb.test.", i)
	}
	cases := []struct {
		ns    []string
		addrs map[string][]string
		err   string
	}{
		{nil, nil, "ns: at least one name server is required"},
		{many, nil, "ns: 14 name servers given; at most 13 are allowed"},
		{[]string{"ns1.lb.test", "NS1.lb.test."}, nil, `ns[1]: "NS1.lb.test." is given twice; name servers are distinct`},
		{[]string{"."}, nil, "ns[0]: the root is not a name server; give a host name such as ns1.lb.test."},
		{[]string{"ns 1.lb.test"}, nil, `ns[0]: "ns 1.lb.test." contains ' '; names may use letters, digits, '-' and '_'`},
		{[]string{"ns1.lb.test"}, map[string][]string{"ns2.lb.test": {"192.0.2.1"}}, "ns_addresses[ns2.lb.test]: ns2.lb.test. is not a name server of the zone; list it in ns too"},
		{[]string{"ns.other.test"}, map[string][]string{"ns.other.test": {"192.0.2.1"}}, "ns_addresses[ns.other.test]: ns.other.test. is outside zone lb.test.; only name servers inside the zone take addresses (glue), the others are found by their own zone"},
		{[]string{"ns1.lb.test"}, map[string][]string{"ns1.lb.test": {"192.0.2.300"}}, `ns_addresses[ns1.lb.test][0]: "192.0.2.300" is not an IPv4 or IPv6 address`},
		{[]string{"ns1.lb.test"}, map[string][]string{"ns1.lb.test": {"ns2.lb.test"}}, `ns_addresses[ns1.lb.test][0]: "ns2.lb.test" is not an IPv4 or IPv6 address`},
		{[]string{"ns1.lb.test"}, map[string][]string{"ns1.lb.test": {"fe80::1%eth0"}}, `ns_addresses[ns1.lb.test][0]: "fe80::1%eth0" is not an IPv4 or IPv6 address`},
		{[]string{"ns1.lb.test"}, map[string][]string{"ns1.lb.test": {"192.0.2.1", "192.0.2.01"}}, `ns_addresses[ns1.lb.test][1]: "192.0.2.01" is not an IPv4 or IPv6 address`},
		{[]string{"ns1.lb.test"}, map[string][]string{"ns1.lb.test": {"2001:db8::1", "2001:DB8::1"}}, `ns_addresses[ns1.lb.test][1]: "2001:DB8::1" is given twice; addresses are distinct`},
		{[]string{"ns1.lb.test"}, map[string][]string{"ns1.lb.test": {}}, "ns_addresses[ns1.lb.test]: at least one address is required (IPv4 or IPv6)"},
		{[]string{"ns1.lb.test"}, map[string][]string{"ns1.lb.test": make([]string, 9)}, "ns_addresses[ns1.lb.test]: 9 addresses given; at most 8 are allowed"},
		{[]string{"ns1.lb.test"}, map[string][]string{"ns1.lb.test": {"192.0.2.1"}, "NS1.lb.test.": {"192.0.2.2"}}, "ns_addresses[ns1.lb.test]: ns1.lb.test. is given twice"},
	}
	for _, tc := range cases {
		z := NewZone("lb.test.")
		z.NS, z.NSAddresses = tc.ns, tc.addrs
		if err := z.Validate(); err == nil || err.Error() != tc.err {
			t.Errorf("NS %v, addresses %v: %v, want %s", tc.ns, tc.addrs, err, tc.err)
		}
	}
}

func TestZoneNameServersCanonical(t *testing.T) {
	z := NewZone("lb.test.")
	z.NS = []string{"NS1.lb.test", "ns2.LB.test.", "ns.other.test"}
	z.NSAddresses = map[string][]string{"NS1.lb.test": {" 192.0.2.53", "2001:DB8:0::53"}, "ns2.lb.test.": {"192.0.2.54"}}
	if err := z.Validate(); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"ns1.lb.test.", "ns2.lb.test.", "ns.other.test."}, z.NS); diff != "" {
		t.Errorf("NS (-want +got):\n%s", diff)
	}
	want := map[string][]string{"ns1.lb.test.": {"192.0.2.53", "2001:db8::53"}, "ns2.lb.test.": {"192.0.2.54"}}
	if diff := cmp.Diff(want, z.NSAddresses); diff != "" {
		t.Errorf("NSAddresses (-want +got):\n%s", diff)
	}
}

// TestZoneJSONBeforeNSAddresses: a zone stored before name servers had
// addresses loads as it was, and one without addresses is stored as then.
func TestZoneJSONBeforeNSAddresses(t *testing.T) {
	const old = `{"name":"lb.test.","soa":{"mname":"ns1.lb.test.","rname":"hostmaster.lb.test.","serial":1,"refresh":3600,"retry":600,"expire":86400,"minimum":5,"ttl":900},"ns":["ns1.lb.test.","ns2.lb.test."],"created":"2026-01-02T03:04:05Z","revision":3}`
	var z Zone
	if err := json.Unmarshal([]byte(old), &z); err != nil {
		t.Fatal(err)
	}
	if err := z.Validate(); err != nil || len(z.NS) != 2 || z.NSAddresses != nil {
		t.Fatalf("old zone: %+v, %v", z, err)
	}
	b, err := json.Marshal(z)
	if err != nil || string(b) != old {
		t.Errorf("stored again as\n%s\nwant\n%s", b, old)
	}
}

func TestCheckNameServerSet(t *testing.T) {
	z := NewZone("lb.test.")
	z.NSAddresses = map[string][]string{"ns1.lb.test.": {"192.0.2.53"}}
	for _, tc := range []struct {
		k   Key
		err string
	}{
		{Key{Zone: z.Name, Name: "ns1.lb.test.", Type: A}, "type: ns1.lb.test. is a name server of zone lb.test. with addresses set on the zone (ns_addresses); its A records come from there"},
		{Key{Zone: z.Name, Name: "ns1.lb.test.", Type: CNAME}, "type: ns1.lb.test. is a name server of zone lb.test. with addresses set on the zone (ns_addresses); its CNAME records come from there"},
		{Key{Zone: z.Name, Name: "ns1.lb.test.", Type: TXT}, ""},
		{Key{Zone: z.Name, Name: "ns2.lb.test.", Type: A}, ""},
	} {
		err := z.CheckNameServerSet(tc.k)
		if got := fmt.Sprint(err); tc.err == "" && err != nil || tc.err != "" && got != tc.err {
			t.Errorf("%v: %v, want %q", tc.k, err, tc.err)
		}
	}
}

func TestParseNameServer(t *testing.T) {
	for _, tc := range []struct {
		in    string
		name  string
		addrs []string
	}{
		{"ns1.lb.test", "ns1.lb.test", nil},
		{"ns1.lb.test=192.0.2.1", "ns1.lb.test", []string{"192.0.2.1"}},
		{"ns1.lb.test=192.0.2.1, 2001:db8::1", "ns1.lb.test", []string{"192.0.2.1", "2001:db8::1"}},
		{"ns1.lb.test=", "ns1.lb.test", []string{""}},
	} {
		name, addrs := ParseNameServer(tc.in)
		if name != tc.name || !cmp.Equal(addrs, tc.addrs) {
			t.Errorf("ParseNameServer(%q) = %q, %q; want %q, %q", tc.in, name, addrs, tc.name, tc.addrs)
		}
	}
}
