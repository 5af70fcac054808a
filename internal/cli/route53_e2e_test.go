package cli_test

import (
	"bytes"
	"encoding/json"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// Route 53 API end to end: the real aws CLI v2 and boto3 (Debian packages
// awscli and python3-boto3, installed by .ci/run) against `dnslb serve
// --r53-credentials`, with real DNS queries. Every client gets the
// loopback endpoint explicitly and no AWS configuration.

const (
	r53Key    = "AKIADNSLBE2E0000001"
	r53Secret = "dnslb-e2e-secret-access-key-00000000001"
)

// startRoute53 runs serve on ip with the Route 53 API for r53Key.
func startRoute53(t *testing.T, ip string) *server {
	t.Helper()
	dir := t.TempDir()
	creds := filepath.Join(dir, "r53-credentials")
	if err := os.WriteFile(creds, []byte(r53Key+" "+r53Secret+" admin\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return startServer(t, ip, filepath.Join(dir, "data"), "--r53-credentials", creds)
}

// r53Env is the environment of an AWS client: the key, no config, no
// metadata service, region us-east-1.
func r53Env(t *testing.T, secret string) []string {
	t.Helper()
	return []string{"AWS_ACCESS_KEY_ID=" + r53Key, "AWS_SECRET_ACCESS_KEY=" + secret, "AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_DEFAULT_REGION=us-east-1",
		"HOME=" + t.TempDir(), "PATH=/usr/bin:/bin", "AWS_PAGER="}
}

// awsCLI runs /usr/bin/aws against s; it returns stdout, stderr and the
// exit code.
func awsCLI(t *testing.T, s *server, secret string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command("/usr/bin/aws", append([]string{"--endpoint-url", "http://" + s.api, "--output", "json"}, args...)...)
	cmd.Env = r53Env(t, secret)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatalf("aws %s: %v", strings.Join(args, " "), err)
	}
	return o.String(), e.String(), cmd.ProcessState.ExitCode()
}

func mustAWS(t *testing.T, s *server, args ...string) map[string]any {
	t.Helper()
	out, errOut, code := awsCLI(t, s, r53Secret, args...)
	if code != 0 {
		t.Fatalf("aws %s: exit %d: %s", strings.Join(args, " "), code, errOut)
	}
	var v map[string]any
	if strings.TrimSpace(out) != "" {
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatalf("aws %s: %v:\n%s", strings.Join(args, " "), err, out)
		}
	}
	return v
}

func needTool(t *testing.T, path string) {
	if _, err := os.Stat(path); err != nil {
		t.Skipf("%s is not installed (.ci/run installs it): %v", path, err)
	}
}

// weightedBatch is a change batch of weighted A sets of www.example.com
// with TTL 60, one per "id=ip=weight".
func weightedBatch(action string, sets ...string) string {
	var changes []string
	for _, s := range sets {
		f := strings.Split(s, "=")
		changes = append(changes, `{"Action":"`+action+`","ResourceRecordSet":{"Name":"www.example.com","Type":"A","SetIdentifier":"`+f[0]+
			`","Weight":`+f[2]+`,"TTL":60,"ResourceRecords":[{"Value":"`+f[1]+`"}]}}`)
	}
	return `{"Changes":[` + strings.Join(changes, ",") + `]}`
}

func TestAWSCLIRoute53(t *testing.T) {
	needTool(t, "/usr/bin/aws")
	s := startRoute53(t, "127.0.0.61")
	zone := mustAWS(t, s, "route53", "create-hosted-zone", "--name", "example.com", "--caller-reference", "e2e-1")
	zid := zone["HostedZone"].(map[string]any)["Id"].(string)
	ch := mustAWS(t, s, "route53", "change-resource-record-sets", "--hosted-zone-id", zid, "--change-batch",
		weightedBatch("UPSERT", "i-1=127.0.1.1=10", "i-2=127.0.1.2=20", "i-3=127.0.1.3=30"))
	cid := ch["ChangeInfo"].(map[string]any)["Id"].(string)
	mustAWS(t, s, "route53", "wait", "resource-record-sets-changed", "--id", cid)
	if st := mustAWS(t, s, "route53", "get-change", "--id", cid)["ChangeInfo"].(map[string]any)["Status"]; st != "INSYNC" {
		t.Errorf("get-change status %v; want INSYNC", st)
	}
	// One set per server page: the CLI follows NextRecordName/Type/Identifier.
	list := mustAWS(t, s, "route53", "list-resource-record-sets", "--hosted-zone-id", zid, "--page-size", "1")
	var got []string
	for _, r := range list["ResourceRecordSets"].([]any) {
		m := r.(map[string]any)
		got = append(got, m["Name"].(string)+" "+m["Type"].(string)+" "+str(m["SetIdentifier"]))
	}
	if want := "example.com. NS |example.com. SOA |www.example.com. A i-1|www.example.com. A i-2|www.example.com. A i-3"; strings.Join(got, "|") != want {
		t.Errorf("listed %q; want %q", strings.Join(got, "|"), want)
	}
	r53Shares(t, s, map[string]float64{"127.0.1.1": 10, "127.0.1.2": 20, "127.0.1.3": 30})

	mustAWS(t, s, "route53", "change-resource-record-sets", "--hosted-zone-id", zid, "--change-batch", weightedBatch("DELETE", "i-2=127.0.1.2=20"))
	r53Shares(t, s, map[string]float64{"127.0.1.1": 10, "127.0.1.3": 30})
	_, errOut, code := awsCLI(t, s, r53Secret, "route53", "change-resource-record-sets", "--hosted-zone-id", zid, "--change-batch", weightedBatch("CREATE", "i-1=127.0.1.1=10"))
	if want := "An error occurred (InvalidChangeBatch) when calling the ChangeResourceRecordSets operation: [Tried to create resource record set [name='www.example.com.', type='A', set-identifier='i-1'] but it already exists]"; code == 0 || !strings.Contains(errOut, want) {
		t.Errorf("duplicate CREATE: exit %d, %q; want %q", code, errOut, want)
	}
	_, errOut, code = awsCLI(t, s, "a-wrong-secret-access-key-000000000", "route53", "list-hosted-zones")
	if code == 0 || !strings.Contains(errOut, "(SignatureDoesNotMatch)") {
		t.Errorf("wrong secret: exit %d, %q", code, errOut)
	}
	if id := mustAWS(t, s, "sts", "get-caller-identity"); id["UserId"] != r53Key || id["Account"] != "000000000000" {
		t.Errorf("sts get-caller-identity = %v", id)
	}
	cliHealthCheck(t, s, zid)
}

// cliHealthCheck makes a health check without IPAddress (it probes each
// set's own address), attaches it to i-3 by id, and fails i-3's backend:
// i-3 leaves the answers.
func cliHealthCheck(t *testing.T, s *server, zid string) {
	ln, err := net.Listen("tcp", "127.0.1.3:0")
	if err != nil {
		t.Fatal(err)
	}
	backend := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) })}
	go backend.Serve(ln)
	defer backend.Close()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	hc := mustAWS(t, s, "route53", "create-health-check", "--caller-reference", "hc-e2e", "--health-check-config",
		`{"Type":"HTTP","Port":`+port+`,"ResourcePath":"/health","RequestInterval":10,"FailureThreshold":1}`)
	hcID := hc["HealthCheck"].(map[string]any)["Id"].(string)
	batch := strings.Replace(weightedBatch("UPSERT", "i-3=127.0.1.3=30"), `"TTL":60`, `"TTL":60,"HealthCheckId":"`+hcID+`"`, 1)
	mustAWS(t, s, "route53", "change-resource-record-sets", "--hosted-zone-id", zid, "--change-batch", batch)
	deadline := time.Now().Add(40 * time.Second)
	for clean := 0; clean < 300; {
		if time.Now().After(deadline) {
			t.Fatalf("127.0.1.3 still answered 40 s after its backend failed")
		}
		clean++
		if a := answerOf(t, s); a == "127.0.1.3" {
			clean = 0
			time.Sleep(100 * time.Millisecond)
		} else if a != "127.0.1.1" {
			t.Fatalf("answer %s", a)
		}
	}
	st := mustAWS(t, s, "route53", "get-health-check-status", "--health-check-id", hcID)
	obs := st["HealthCheckObservations"].([]any)
	if len(obs) != 1 || !strings.HasPrefix(obs[0].(map[string]any)["StatusReport"].(map[string]any)["Status"].(string), "Failure") {
		t.Errorf("get-health-check-status = %v; want one Failure", st)
	}
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func answerOf(t *testing.T, s *server) string {
	r := s.query(t, "www.example.com.", dns.TypeA, "udp")
	if len(r.Answer) != 1 {
		t.Fatalf("answer %v", r.Answer)
	}
	return r.Answer[0].(*dns.A).A.String()
}

// r53Shares queries www.example.com 4,000 times and compares the answers
// with the weights by a chi-square test (p = 0.001).
func r53Shares(t *testing.T, s *server, weights map[string]float64) {
	t.Helper()
	const n = 4000
	counts := map[string]float64{}
	for range n {
		counts[answerOf(t, s)]++
	}
	var total, chi2 float64
	for _, w := range weights {
		total += w
	}
	for addr, w := range weights {
		exp := n * w / total
		chi2 += math.Pow(counts[addr]-exp, 2) / exp
	}
	critical := map[int]float64{1: 10.83, 2: 13.82}[len(weights)-1]
	if len(counts) != len(weights) || chi2 > critical {
		t.Errorf("answer counts %v for weights %v: chi-square %.2f", counts, weights, chi2)
	}
}
