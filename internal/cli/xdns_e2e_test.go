package cli_test

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/dnslb/dnslb/internal/cli"
)

var webhookLine = regexp.MustCompile(`msg="external-dns webhook serving" addr=(\S+)`)

// TestServeExternalDNSWebhook: serve --external-dns-webhook answers
// external-dns's negotiation with the zones it serves, and a writer's
// change becomes a set DNS answers with.
func TestServeExternalDNSWebhook(t *testing.T) {
	s := startServer(t, "127.0.0.22", t.TempDir(), "--zone", "lb.test", "--external-dns-webhook", "127.0.0.22:0")
	m := webhookLine.FindStringSubmatch(s.stderr.String())
	if m == nil {
		t.Fatalf("no webhook address logged:\n%s", s.stderr)
	}
	url := "http://" + m[1]
	req, _ := http.NewRequest("GET", url+"/owner/cluster-a", nil)
	req.Header.Set("Accept", "application/external.dns.webhook+json;version=1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "application/external.dns.webhook+json;version=1" || string(b) != `{"include":["lb.test"]}`+"\n" {
		t.Fatalf("negotiation: %q %s", ct, b)
	}
	body := `{"create":[{"dnsName":"www.lb.test","targets":["127.0.0.61"],"recordType":"A","setIdentifier":"cluster-a","recordTTL":60,` +
		`"providerSpecific":[{"name":"aws/weight","value":"10"}]}]}`
	resp, err = http.Post(url+"/owner/cluster-a/records", "application/external.dns.webhook+json;version=1", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("POST /records: %d", resp.StatusCode)
	}
	ans := s.query(t, "www.lb.test.", 1, "udp")
	if len(ans.Answer) != 1 || !strings.Contains(ans.Answer[0].String(), "127.0.0.61") {
		t.Errorf("DNS answer %v", ans.Answer)
	}
}

// TestServeExternalDNSWebhookFlags: a non-loopback address without
// --insecure-external-dns, or a bad owner, is refused before anything is
// written.
func TestServeExternalDNSWebhookFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--external-dns-webhook", "0.0.0.0:8888"}, "--external-dns-webhook 0.0.0.0:8888 is not a loopback address"},
		{[]string{"--external-dns-webhook", "8888"}, `--external-dns-webhook "8888": allowed HOST:PORT`},
		{[]string{"--external-dns-webhook", "127.0.0.1:0", "--external-dns-owner", "Cluster A"},
			`--external-dns-owner: owner "Cluster A": allowed 1..63 characters of a-z, 0-9, '-', '_' and '.'`},
	} {
		data := filepath.Join(t.TempDir(), "data")
		var o, e bytes.Buffer
		code := cli.Main(append([]string{"serve", "--dns", "127.0.0.13:0", "--api", "127.0.0.13:0", "--data", data}, tc.args...), &o, &e)
		if code != 2 || !strings.Contains(e.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, e.String(), tc.want)
		}
		if _, err := os.Stat(data); !os.IsNotExist(err) {
			t.Errorf("%v: the data directory was created (%v)", tc.args, err)
		}
	}
}
