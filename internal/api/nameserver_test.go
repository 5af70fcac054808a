package api_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dnslb/dnslb/internal/record"
)

// TestCreateZoneWithNameServerAddresses: POST /v1/zones takes the
// addresses of in-zone name servers, stores them in canonical form, and
// refuses an A record set at such a name, naming the field.
func TestCreateZoneWithNameServerAddresses(t *testing.T) {
	e := newEnv(t)
	status, body := do(t, e.srv, "POST", "/v1/zones", `{"name":"lb.example.com","ns":["ns1.lb.example.com","NS2.lb.example.com","ns.other.net"],
		"ns_addresses":{"ns1.lb.example.com":["192.0.2.53","2001:DB8::53"],"ns2.lb.example.com.":["192.0.2.54"]}}`)
	if status != 201 {
		t.Fatalf("create: %d %s", status, body)
	}
	var z record.Zone
	if err := json.Unmarshal(body, &z); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{"ns1.lb.example.com.": {"192.0.2.53", "2001:db8::53"}, "ns2.lb.example.com.": {"192.0.2.54"}}
	if diff := cmp.Diff(want, z.NSAddresses); diff != "" {
		t.Errorf("ns_addresses (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"ns1.lb.example.com.", "ns2.lb.example.com.", "ns.other.net."}, z.NS); diff != "" {
		t.Errorf("ns (-want +got):\n%s", diff)
	}
	status, body = do(t, e.srv, "PUT", "/v1/zones/lb.example.com/rrsets", `{"name":"ns2","type":"AAAA","values":["2001:db8::9"]}`)
	if want := `"message": "ns2.lb.example.com. is a name server of zone lb.example.com. with addresses set on the zone (ns_addresses); its AAAA records come from there"`; status != 400 || !strings.Contains(string(body), want) {
		t.Errorf("AAAA at a name server: %d %s; want 400 with %s", status, body, want)
	}
	if status, body = do(t, e.srv, "PUT", "/v1/zones/lb.example.com/rrsets", `{"name":"ns2","type":"TXT","values":["ok"]}`); status != 200 {
		t.Errorf("TXT at a name server: %d %s", status, body)
	}
}
