package route53api_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"go.uber.org/goleak"

	"github.com/dnslb/dnslb/internal/route53api"
	"github.com/dnslb/dnslb/internal/route53api/r53test"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// newClient is the real SDK's Route 53 client pointed at srv with the
// given key, never retrying (so that a refusal is seen as it is).
func newClient(srv *r53test.Server, id, secret string) *route53.Client {
	return route53.New(route53.Options{
		BaseEndpoint: aws.String(srv.URL), Region: "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider(id, secret, ""),
		RetryMaxAttempts: 1, HTTPClient: &http.Client{Timeout: 30 * time.Second},
	})
}

func adminClient(srv *r53test.Server) *route53.Client {
	return newClient(srv, r53test.KeyID, r53test.Secret)
}

// apiCode is the error code of an SDK error, "" when none.
func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func createZone(t *testing.T, cl *route53.Client, name string) *types.HostedZone {
	t.Helper()
	out, err := cl.CreateHostedZone(context.Background(), &route53.CreateHostedZoneInput{
		Name: aws.String(name), CallerReference: aws.String("ref-" + name)})
	if err != nil {
		t.Fatalf("CreateHostedZone: %v", err)
	}
	return out.HostedZone
}

func weighted(action types.ChangeAction, name, id string, weight int64, ttl int64, ip string) types.Change {
	return types.Change{Action: action, ResourceRecordSet: &types.ResourceRecordSet{
		Name: aws.String(name), Type: types.RRTypeA, SetIdentifier: aws.String(id), Weight: aws.Int64(weight),
		TTL: aws.Int64(ttl), ResourceRecords: []types.ResourceRecord{{Value: aws.String(ip)}}}}
}

func change(t *testing.T, cl *route53.Client, zoneID string, changes ...types.Change) (*types.ChangeInfo, error) {
	t.Helper()
	out, err := cl.ChangeResourceRecordSets(context.Background(), &route53.ChangeResourceRecordSetsInput{
		HostedZoneId: aws.String(zoneID), ChangeBatch: &types.ChangeBatch{Changes: changes}})
	if err != nil {
		return nil, err
	}
	return out.ChangeInfo, nil
}

func TestSDKZoneLifecycle(t *testing.T) {
	srv := r53test.Start(t, r53test.Options{})
	cl, ctx := adminClient(srv), context.Background()
	out, err := cl.CreateHostedZone(ctx, &route53.CreateHostedZoneInput{Name: aws.String("example.com"), CallerReference: aws.String("r1"),
		HostedZoneConfig: &types.HostedZoneConfig{Comment: aws.String("made by the sdk")}})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(out.HostedZone.Id)
	if !strings.HasPrefix(id, "/hostedzone/Z") || len(id) != len("/hostedzone/")+21 || aws.ToString(out.HostedZone.Name) != "example.com." {
		t.Errorf("zone = %s %s; want /hostedzone/Z+20 and example.com.", id, aws.ToString(out.HostedZone.Name))
	}
	if len(out.DelegationSet.NameServers) == 0 || out.ChangeInfo == nil || aws.ToString(out.Location) == "" {
		t.Errorf("answer lacks name servers, change or location: %+v", out)
	}
	if _, err := cl.CreateHostedZone(ctx, &route53.CreateHostedZoneInput{Name: aws.String("example.com"), CallerReference: aws.String("r1")}); apiCode(err) != "HostedZoneAlreadyExists" {
		t.Errorf("same caller reference again: %v; want HostedZoneAlreadyExists", err)
	}
	got, err := cl.GetHostedZone(ctx, &route53.GetHostedZoneInput{Id: aws.String(id)})
	if err != nil || aws.ToString(got.HostedZone.Id) != id || aws.ToString(got.HostedZone.Config.Comment) != "made by the sdk" ||
		aws.ToString(got.HostedZone.CallerReference) != "r1" || aws.ToInt64(got.HostedZone.ResourceRecordSetCount) != 2 {
		t.Errorf("GetHostedZone = %+v, %v", got, err)
	}
	list, err := cl.ListHostedZones(ctx, &route53.ListHostedZonesInput{})
	if err != nil || len(list.HostedZones) != 1 || aws.ToString(list.HostedZones[0].Id) != id {
		t.Errorf("ListHostedZones = %+v, %v", list, err)
	}
	if _, err := cl.GetHostedZone(ctx, &route53.GetHostedZoneInput{Id: aws.String("ZNOSUCHZONE0000000000")}); apiCode(err) != "NoSuchHostedZone" {
		t.Errorf("unknown zone: %v; want NoSuchHostedZone", err)
	}
}

func TestSDKWeightedChanges(t *testing.T) {
	srv := r53test.Start(t, r53test.Options{})
	cl, ctx := adminClient(srv), context.Background()
	zid := aws.ToString(createZone(t, cl, "example.com").Id)
	info, err := change(t, cl, zid,
		weighted(types.ChangeActionUpsert, "www.example.com", "i-1", 10, 60, "192.0.2.1"),
		weighted(types.ChangeActionUpsert, "www.example.com", "i-2", 20, 60, "192.0.2.2"),
		weighted(types.ChangeActionUpsert, "www.example.com", "i-3", 30, 60, "192.0.2.3"))
	if err != nil {
		t.Fatal(err)
	}
	ch, err := cl.GetChange(ctx, &route53.GetChangeInput{Id: info.Id})
	if err != nil || ch.ChangeInfo.Status != types.ChangeStatusInsync {
		t.Errorf("GetChange = %+v, %v; want INSYNC", ch, err)
	}
	_, err = change(t, cl, zid, weighted(types.ChangeActionCreate, "www.example.com", "i-1", 10, 60, "192.0.2.1"))
	var icb *types.InvalidChangeBatch
	if !errors.As(err, &icb) || icb.ErrorMessage() != "[Tried to create resource record set [name='www.example.com.', type='A', set-identifier='i-1'] but it already exists]" {
		t.Errorf("duplicate CREATE: %v; want InvalidChangeBatch naming the set", err)
	}
	_, err = change(t, cl, zid, weighted(types.ChangeActionDelete, "www.example.com", "i-2", 20, 60, "192.0.2.9"))
	if !errors.As(err, &icb) || icb.ErrorMessage() != "[Tried to delete resource record set [name='www.example.com.', type='A', set-identifier='i-2'] but the values provided do not match the current values]" {
		t.Errorf("DELETE with other values: %v", err)
	}
	if _, err := change(t, cl, zid, weighted(types.ChangeActionDelete, "www.example.com", "i-2", 20, 60, "192.0.2.2")); err != nil {
		t.Errorf("exact DELETE: %v", err)
	}
	_, err = change(t, cl, zid, weighted(types.ChangeActionDelete, "www.example.com", "i-2", 20, 60, "192.0.2.2"))
	if !errors.As(err, &icb) || icb.ErrorMessage() != "[Tried to delete resource record set [name='www.example.com.', type='A', set-identifier='i-2'] but it was not found]" {
		t.Errorf("DELETE again: %v", err)
	}
	var names []string
	p := route53.NewListResourceRecordSetsPaginator(cl, &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(zid), MaxItems: aws.Int32(1)})
	for pages := 0; p.HasMorePages(); pages++ {
		page, err := p.NextPage(ctx)
		if err != nil || len(page.ResourceRecordSets) != 1 || pages > 10 {
			t.Fatalf("page %d: %+v, %v", pages, page, err)
		}
		r := page.ResourceRecordSets[0]
		names = append(names, fmt.Sprintf("%s %s %s %d", aws.ToString(r.Name), r.Type, aws.ToString(r.SetIdentifier), aws.ToInt64(r.Weight)))
	}
	want := []string{"example.com. NS  0", "example.com. SOA  0", "www.example.com. A i-1 10", "www.example.com. A i-3 30"}
	if strings.Join(names, "|") != strings.Join(want, "|") {
		t.Errorf("listed\n%s\nwant\n%s", strings.Join(names, "\n"), strings.Join(want, "\n"))
	}
}

func TestSDKAuthRefusals(t *testing.T) {
	srv := r53test.Start(t, r53test.Options{})
	ctx := context.Background()
	for _, tc := range []struct{ id, secret, code string }{
		{r53test.KeyID, "wrong-secret-access-key-0000000000", "SignatureDoesNotMatch"},
		{"AKIAUNKNOWN000000000", r53test.Secret, "InvalidClientTokenId"},
	} {
		_, err := newClient(srv, tc.id, tc.secret).ListHostedZones(ctx, &route53.ListHostedZonesInput{})
		if apiCode(err) != tc.code {
			t.Errorf("key %s: %v; want %s", tc.id, err, tc.code)
		}
	}
	late := r53test.Start(t, r53test.Options{Now: func() time.Time { return time.Now().Add(10 * time.Minute) }})
	if _, err := adminClient(late).ListHostedZones(ctx, &route53.ListHostedZonesInput{}); apiCode(err) != "SignatureDoesNotMatch" || !strings.Contains(err.Error(), "Signature expired") {
		t.Errorf("skewed clock: %v; want SignatureDoesNotMatch: Signature expired", err)
	}
	resp, err := http.Get(srv.URL + "/2013-04-01/hostedzone")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("unsigned request: status %d; want 403", resp.StatusCode)
	}
}

func TestSDKCallerIdentity(t *testing.T) {
	srv := r53test.Start(t, r53test.Options{})
	cl := sts.New(sts.Options{BaseEndpoint: aws.String(srv.URL), Region: "us-east-1", RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(r53test.KeyID, r53test.Secret, "")})
	out, err := cl.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.Account) != route53api.Account || aws.ToString(out.UserId) != r53test.KeyID || !strings.HasPrefix(aws.ToString(out.Arn), "arn:aws:iam::") {
		t.Errorf("GetCallerIdentity = %s %s %s", aws.ToString(out.Account), aws.ToString(out.UserId), aws.ToString(out.Arn))
	}
}

func TestSDKInjectedThrottling(t *testing.T) {
	srv := r53test.Start(t, r53test.Options{Inject: func(op string) error {
		if op == "ChangeResourceRecordSets" {
			return route53api.Throttling()
		}
		return nil
	}})
	cl := adminClient(srv)
	zid := aws.ToString(createZone(t, cl, "example.com").Id)
	_, err := change(t, cl, zid, weighted(types.ChangeActionUpsert, "www.example.com", "i-1", 10, 60, "192.0.2.1"))
	if apiCode(err) != "Throttling" {
		t.Errorf("injected: %v; want Throttling", err)
	}
}

var route53CreateZone = route53.CreateHostedZoneInput{Name: aws.String("example.com"), CallerReference: aws.String("bench")}

func changeB(b *testing.B, cl *route53.Client, zoneID string, changes []types.Change) (*types.ChangeInfo, error) {
	b.Helper()
	out, err := cl.ChangeResourceRecordSets(b.Context(), &route53.ChangeResourceRecordSetsInput{
		HostedZoneId: aws.String(zoneID), ChangeBatch: &types.ChangeBatch{Changes: changes}})
	if err != nil {
		return nil, err
	}
	return out.ChangeInfo, nil
}
