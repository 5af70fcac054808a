package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/dnslb/dnslb/internal/record"
)

// The JSON `aws route53 list-resource-record-sets` prints for a zone with
// the recipe's weighted sets.
const route53Export = `{
    "ResourceRecordSets": [
        {"Name": "example.com.", "Type": "NS", "TTL": 172800, "ResourceRecords": [{"Value": "ns-1.awsdns-00.org."}]},
        {"Name": "example.com.", "Type": "SOA", "TTL": 900, "ResourceRecords": [{"Value": "ns-1.awsdns-00.org. awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400"}]},
        {"Name": "example.com.", "Type": "MX", "TTL": 300, "ResourceRecords": [{"Value": "10 mail.example.com."}]},
        {"Name": "txt.example.com.", "Type": "TXT", "TTL": 300, "ResourceRecords": [{"Value": "\"v=spf1 -all\""}]},
        {"Name": "www.example.com.", "Type": "A", "SetIdentifier": "i-0abc", "Weight": 10, "TTL": 60, "ResourceRecords": [{"Value": "192.0.2.10"}]},
        {"Name": "www.example.com.", "Type": "A", "SetIdentifier": "i-0def", "Weight": 20, "TTL": 60, "ResourceRecords": [{"Value": "192.0.2.20"}]}
    ]
}`

func TestZoneImportFromRoute53(t *testing.T) {
	s := startServer(t, "127.0.0.63", t.TempDir())
	dir := t.TempDir()
	bad := filepath.Join(dir, "alias.json")
	os.WriteFile(bad, []byte(strings.Replace(route53Export, `"TTL": 300, "ResourceRecords": [{"Value": "\"v=spf1 -all\""}]`,
		`"AliasTarget": {"HostedZoneId": "Z2FDTNDATAQYW2", "DNSName": "d1.cloudfront.net.", "EvaluateTargetHealth": false}`, 1)), 0o600)
	_, errOut, code := s.try("zone", "import", "example.com", "--from-route53", bad)
	if want := "ResourceRecordSets[3] (txt.example.com. TXT ): is an alias; dnslb serves record values only; nothing was imported"; code == 0 || !strings.Contains(errOut, want) {
		t.Errorf("alias: exit %d, %q; want %q", code, errOut, want)
	}
	if out := s.run(t, "zone", "ls"); strings.Contains(out, "example.com") {
		t.Errorf("a refused import made the zone:\n%s", out)
	}
	good := filepath.Join(dir, "zone.json")
	os.WriteFile(good, []byte(route53Export), 0o600)
	if out := s.run(t, "zone", "import", "example.com", "--from-route53", good); out != "imported 4 record sets into example.com (skipped the apex SOA and NS: 2; the zone has its own)\n" {
		t.Errorf("import printed %q", out)
	}
	var sets []record.Set
	if err := json.Unmarshal([]byte(s.run(t, "record", "ls", "example.com", "--json")), &sets); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, set := range sets {
		got = append(got, set.Name+" "+string(set.Type)+" "+set.SetID+" "+strings.Join(set.Values, ","))
	}
	sort.Strings(got)
	want := []string{"example.com. MX  10 mail.example.com.", "txt.example.com. TXT  v=spf1 -all",
		"www.example.com. A i-0abc 192.0.2.10", "www.example.com. A i-0def 192.0.2.20"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("imported\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
