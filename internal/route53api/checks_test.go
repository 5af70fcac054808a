package route53api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/registry"
	"github.com/dnslb/dnslb/internal/route53api/r53test"
)

// loopbackChecks lets health checks probe loopback backends.
var loopbackChecks = registry.Options{Checks: record.CheckRules{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}}

func TestSDKHealthCheckAttachedByID(t *testing.T) {
	var failing atomic.Bool
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if failing.Load() {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer backend.Close()
	port, _ := strconv.Atoi(backend.URL[strings.LastIndexByte(backend.URL, ':')+1:])
	srv := r53test.Start(t, r53test.Options{Registry: loopbackChecks, ProbeInterval: 100 * time.Millisecond})
	cl, ctx := adminClient(srv), context.Background()
	hc, err := cl.CreateHealthCheck(ctx, &route53.CreateHealthCheckInput{CallerReference: aws.String("hc1"),
		HealthCheckConfig: &types.HealthCheckConfig{Type: types.HealthCheckTypeHttp, IPAddress: aws.String("127.0.0.1"),
			Port: aws.Int32(int32(port)), ResourcePath: aws.String("/health"), FailureThreshold: aws.Int32(1), RequestInterval: aws.Int32(10)}})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(hc.HealthCheck.Id)
	if got, err := cl.GetHealthCheck(ctx, &route53.GetHealthCheckInput{HealthCheckId: aws.String(id)}); err != nil ||
		aws.ToInt64(got.HealthCheck.HealthCheckVersion) != 1 || aws.ToString(got.HealthCheck.HealthCheckConfig.ResourcePath) != "/health" {
		t.Errorf("GetHealthCheck = %+v, %v", got, err)
	}
	zid := aws.ToString(createZone(t, cl, "example.com").Id)
	up := weighted(types.ChangeActionCreate, "www.example.com", "i-1", 10, 60, "127.0.0.1")
	up.ResourceRecordSet.HealthCheckId = aws.String(id)
	if _, err := change(t, cl, zid, up, weighted(types.ChangeActionCreate, "www.example.com", "i-2", 10, 60, "192.0.2.2")); err != nil {
		t.Fatal(err)
	}
	list, err := cl.ListResourceRecordSets(ctx, &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(zid),
		StartRecordName: aws.String("www.example.com"), StartRecordType: types.RRTypeA, StartRecordIdentifier: aws.String("i-1"), MaxItems: aws.Int32(1)})
	if err != nil || len(list.ResourceRecordSets) != 1 || aws.ToString(list.ResourceRecordSets[0].HealthCheckId) != id {
		t.Fatalf("listed %+v, %v; want i-1 with HealthCheckId %s", list, err, id)
	}
	failing.Store(true)
	waitStatus(t, cl, id, "Failure")
	key := record.Key{Zone: "example.com.", Name: "www.example.com.", Type: record.A, SetID: "i-1"}
	set, err := srv.Registry.Set(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if st := srv.Registry.Statuses([]record.Set{set})[0]; st.Eligible || st.Health != "down" {
		t.Errorf("status of i-1 with a failing backend = %+v; want down, not eligible", st)
	}
	failing.Store(false)
	waitStatus(t, cl, id, "Success")
	if _, err := cl.DeleteHealthCheck(ctx, &route53.DeleteHealthCheckInput{HealthCheckId: aws.String(id)}); err != nil {
		t.Fatal(err)
	}
	if set, _ := srv.Registry.Set(ctx, key); set.Check != nil {
		t.Errorf("i-1 keeps check %+v after DeleteHealthCheck", set.Check)
	}
}

// waitStatus polls GetHealthCheckStatus until its first observation
// starts with want.
func waitStatus(t *testing.T, cl *route53.Client, id, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for tick := time.NewTicker(50 * time.Millisecond); ; <-tick.C {
		st, err := cl.GetHealthCheckStatus(context.Background(), &route53.GetHealthCheckStatusInput{HealthCheckId: aws.String(id)})
		if err != nil {
			t.Fatal(err)
		}
		if len(st.HealthCheckObservations) > 0 && strings.HasPrefix(aws.ToString(st.HealthCheckObservations[0].StatusReport.Status), want) {
			tick.Stop()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("health check %s: no %q status in 10 s", id, want)
		}
	}
}

func TestSDKZoneTags(t *testing.T) {
	srv := r53test.Start(t, r53test.Options{})
	cl, ctx := adminClient(srv), context.Background()
	zid := strings.TrimPrefix(aws.ToString(createZone(t, cl, "example.com").Id), "/hostedzone/")
	_, err := cl.ChangeTagsForResource(ctx, &route53.ChangeTagsForResourceInput{ResourceType: types.TagResourceTypeHostedzone, ResourceId: aws.String(zid),
		AddTags: []types.Tag{{Key: aws.String("team"), Value: aws.String("web")}, {Key: aws.String("env"), Value: aws.String("prod")}}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = cl.ChangeTagsForResource(ctx, &route53.ChangeTagsForResourceInput{ResourceType: types.TagResourceTypeHostedzone, ResourceId: aws.String(zid),
		RemoveTagKeys: []string{"env"}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := cl.ListTagsForResource(ctx, &route53.ListTagsForResourceInput{ResourceType: types.TagResourceTypeHostedzone, ResourceId: aws.String(zid)})
	if err != nil || len(out.ResourceTagSet.Tags) != 1 || aws.ToString(out.ResourceTagSet.Tags[0].Key) != "team" {
		t.Errorf("tags = %+v, %v; want team=web", out, err)
	}
	if _, err := cl.DeleteHostedZone(ctx, &route53.DeleteHostedZoneInput{Id: aws.String(zid)}); err != nil {
		t.Errorf("DeleteHostedZone of an empty zone: %v", err)
	}
}
