package cli_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/route53"

	"github.com/dnslb/dnslb/internal/route53api"
	"github.com/dnslb/dnslb/internal/route53api/r53test"
)

// agentAWSEnv points the AWS SDK's default chain at r53test's key and nowhere
// else: no IMDS, no config files, no profile.
func agentAWSEnv() []string {
	return []string{"AWS_ACCESS_KEY_ID=" + r53test.KeyID, "AWS_SECRET_ACCESS_KEY=" + r53test.Secret,
		"AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		"AWS_PROFILE=", "AWS_SESSION_TOKEN="}
}

// agentR53Zone creates hosted zone lb.test through the SDK and returns the
// client and the zone id.
func agentR53Zone(t *testing.T, srv *r53test.Server) (*route53.Client, string) {
	t.Helper()
	cl := route53.New(route53.Options{BaseEndpoint: aws.String(srv.URL), Region: "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider(r53test.KeyID, r53test.Secret, ""),
		RetryMaxAttempts: 1, HTTPClient: &http.Client{Timeout: 10 * time.Second}})
	out, err := cl.CreateHostedZone(context.Background(), &route53.CreateHostedZoneInput{
		Name: aws.String("lb.test"), CallerReference: aws.String("cli-agent")})
	if err != nil {
		t.Fatal(err)
	}
	return cl, strings.TrimPrefix(aws.ToString(out.HostedZone.Id), "/hostedzone/")
}

func agentR53SetIDs(t *testing.T, cl *route53.Client, zone string) []string {
	t.Helper()
	out, err := cl.ListResourceRecordSets(context.Background(), &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(zone)})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, rs := range out.ResourceRecordSets {
		if rs.SetIdentifier != nil {
			ids = append(ids, *rs.SetIdentifier)
		}
	}
	return ids
}

// TestAgentRoute53EndToEnd runs `dnslb agent --provider route53` against
// dnslb's Route 53 API, which throttles its first calls: the agent
// registers, and on SIGTERM deletes its set and exits 0 after TTL +
// margin.
func TestAgentRoute53EndToEnd(t *testing.T) {
	var mu sync.Mutex
	throttled := 0
	srv := r53test.Start(t, r53test.Options{Inject: func(op string) error {
		mu.Lock()
		defer mu.Unlock()
		if op == "ChangeResourceRecordSets" && throttled < 3 {
			throttled++
			return route53api.Throttling()
		}
		return nil
	}})
	cl, zone := agentR53Zone(t, srv) // CreateHostedZone is not throttled
	a := startAgent(t, agentAWSEnv(), "--provider", "route53", "--endpoint", srv.URL, "--hosted-zone-id", zone,
		"--name", "www.lb.test", "--identity", "static", "--set-id", "i-1", "--address", "127.0.0.51",
		"--ttl", "1", "--drain-margin", "300ms", "--route53-poll", "10ms", "--backoff-min", "1ms", "--backoff-max", "20ms")
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(a.out.String(), "registered in route 53") {
		if time.Now().After(deadline) {
			t.Fatalf("not registered:\n%s", a.out)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if ids := agentR53SetIDs(t, cl, zone); len(ids) != 1 || ids[0] != "i-1" {
		t.Fatalf("sets %v; want [i-1]", ids)
	}
	start := time.Now()
	if err := a.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	a.waitExit(t, 20*time.Second)
	if code := a.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit code %d:\n%s", code, a.out)
	}
	if took := time.Since(start); took < 1300*time.Millisecond {
		t.Errorf("exited %s after SIGTERM; want at least TTL 1s + margin 300ms", took)
	}
	if ids := agentR53SetIDs(t, cl, zone); len(ids) != 0 {
		t.Errorf("sets left %v", ids)
	}
	mu.Lock()
	defer mu.Unlock()
	if throttled != 3 {
		t.Errorf("%d throttled calls; want 3", throttled)
	}
	for _, want := range []string{"route 53: UPSERT failed; retrying with backoff", "deleted from route 53", "drained: no client can still hold this address"} {
		if !strings.Contains(a.out.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, a.out)
		}
	}
}

// TestAgentRoute53FlagErrors: mistakes in the provider flags exit 2 at
// once, with the flag and what is allowed.
func TestAgentRoute53FlagErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no hosted zone", []string{"--provider", "route53", "--name", "www.lb.test"}, "dnslb: --provider route53 needs --hosted-zone-id\n"},
		{"hosted zone with dnslb", []string{"--zone", "lb.test", "--name", "www", "--hosted-zone-id", "Z1"}, "dnslb: --hosted-zone-id: only with --provider route53\n"},
		{"dnslb without zone", []string{"--name", "www"}, "dnslb: --zone is required (with --provider dnslb)\n"},
		{"bad endpoint", []string{"--provider", "route53", "--hosted-zone-id", "Z1", "--name", "www.lb.test", "--endpoint", "127.0.0.1:5380"},
			"dnslb: --endpoint \"127.0.0.1:5380\": allowed an http:// or https:// URL\n"},
		{"name outside zone", []string{"--provider", "route53", "--hosted-zone-id", "Z1", "--zone", "lb.test", "--name", "www.other.test."},
			"dnslb: --name \"www.other.test.\": name: \"www.other.test.\" is not inside zone lb.test.\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := startAgent(t, agentAWSEnv(), append(tc.args, "--identity", "static", "--set-id", "i-1", "--address", "127.0.0.51")...)
			a.waitExit(t, 15*time.Second)
			if code := a.cmd.ProcessState.ExitCode(); code != 2 {
				t.Errorf("exit code %d, want 2", code)
			}
			if last := lastLine(a.out.String()); last != tc.want {
				t.Errorf("last line %q, want %q", last, tc.want)
			}
		})
	}
}
