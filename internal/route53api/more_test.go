package route53api_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/dnslb/dnslb/internal/route53api"
	"github.com/dnslb/dnslb/internal/route53api/r53test"
)

// boto 2, the recipe's library, signs Route 53 requests with AWS3-HTTPS:
// an HMAC-SHA256 of the Date header.
func TestAWS3HTTPSSignature(t *testing.T) {
	srv := r53test.Start(t, r53test.Options{})
	send := func(secret string, date time.Time) int {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/2013-04-01/hostedzone", nil)
		d := date.UTC().Format(http.TimeFormat)
		m := hmac.New(sha256.New, []byte(secret))
		m.Write([]byte(d))
		req.Header.Set("Date", d)
		req.Header.Set("X-Amzn-Authorization", "AWS3-HTTPS AWSAccessKeyId="+r53test.KeyID+",Algorithm=HmacSHA256,Signature="+base64.StdEncoding.EncodeToString(m.Sum(nil)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := send(r53test.Secret, time.Now()); code != http.StatusOK {
		t.Errorf("boto 2 signature: status %d; want 200", code)
	}
	if code := send("not-the-secret-access-key-00000000", time.Now()); code != http.StatusForbidden {
		t.Errorf("boto 2 signature with a wrong secret: status %d; want 403", code)
	}
	if code := send(r53test.Secret, time.Now().Add(-6*time.Minute)); code != http.StatusForbidden {
		t.Errorf("boto 2 signature 6 minutes old: status %d; want 403", code)
	}
}

// A register key changes only weighted sets under its patterns (and its
// set id); a read key only reads.
func TestKeyScopes(t *testing.T) {
	var keys []*route53api.Key
	for _, k := range [][3]string{{r53test.KeyID, r53test.Secret, "admin"},
		{"AKIAPOOL00000000001", "pool-secret-access-key-0000000001", "register:*.pool.example.com"},
		{"AKIAREAD00000000001", "read-secret-access-key-0000000001", "read"}} {
		key, err := route53api.NewKey(k[0], k[1], k[2])
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, key)
	}
	srv := r53test.Start(t, r53test.Options{Keys: route53api.NewKeys(keys...)})
	zid := aws.ToString(createZone(t, adminClient(srv), "example.com").Id)
	pool := newClient(srv, "AKIAPOOL00000000001", "pool-secret-access-key-0000000001")
	if _, err := change(t, pool, zid, weighted(types.ChangeActionUpsert, "web.pool.example.com", "i-1", 10, 60, "192.0.2.1")); err != nil {
		t.Errorf("register key, its name: %v", err)
	}
	if _, err := change(t, pool, zid, weighted(types.ChangeActionUpsert, "www.example.com", "i-1", 10, 60, "192.0.2.1")); apiCode(err) != "AccessDenied" {
		t.Errorf("register key, another name: %v; want AccessDenied", err)
	}
	if _, err := pool.CreateHostedZone(context.Background(), &route53.CreateHostedZoneInput{Name: aws.String("x.example.org"), CallerReference: aws.String("x")}); apiCode(err) != "AccessDenied" {
		t.Errorf("register key, CreateHostedZone: %v; want AccessDenied", err)
	}
	read := newClient(srv, "AKIAREAD00000000001", "read-secret-access-key-0000000001")
	if _, err := read.ListResourceRecordSets(context.Background(), &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(zid)}); err != nil {
		t.Errorf("read key, list: %v", err)
	}
	if _, err := change(t, read, zid, weighted(types.ChangeActionUpsert, "web.pool.example.com", "i-2", 10, 60, "192.0.2.2")); apiCode(err) != "AccessDenied" {
		t.Errorf("read key, change: %v; want AccessDenied", err)
	}
}

// As in Route 53, the last TTL given to a weighted set applies to its
// whole group; a zone with record sets is not deleted.
func TestGroupTTLAndZoneNotEmpty(t *testing.T) {
	srv := r53test.Start(t, r53test.Options{})
	cl, ctx := adminClient(srv), context.Background()
	zid := aws.ToString(createZone(t, cl, "example.com").Id)
	if _, err := change(t, cl, zid, weighted(types.ChangeActionCreate, "www.example.com", "i-1", 10, 60, "192.0.2.1"),
		weighted(types.ChangeActionCreate, "www.example.com", "i-2", 10, 300, "192.0.2.2")); err != nil {
		t.Fatal(err)
	}
	out, err := cl.ListResourceRecordSets(ctx, &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(zid), StartRecordName: aws.String("www.example.com")})
	if err != nil || len(out.ResourceRecordSets) != 2 {
		t.Fatalf("list: %+v, %v", out, err)
	}
	for _, r := range out.ResourceRecordSets {
		if aws.ToInt64(r.TTL) != 300 {
			t.Errorf("%s TTL %d; want the group's last, 300", aws.ToString(r.SetIdentifier), aws.ToInt64(r.TTL))
		}
	}
	if _, err := cl.DeleteHostedZone(ctx, &route53.DeleteHostedZoneInput{Id: aws.String(zid)}); apiCode(err) != "HostedZoneNotEmpty" {
		t.Errorf("DeleteHostedZone with sets: %v; want HostedZoneNotEmpty", err)
	}
	if _, err := cl.GetChange(ctx, &route53.GetChangeInput{Id: aws.String("CNOTACHANGE")}); apiCode(err) != "NoSuchChange" {
		t.Errorf("GetChange of an unknown id: %v; want NoSuchChange", err)
	}
}

func TestListHostedZonesByName(t *testing.T) {
	srv := r53test.Start(t, r53test.Options{})
	cl := adminClient(srv)
	for _, n := range []string{"b.example.com", "example.org", "a.example.com", "example.com"} {
		createZone(t, cl, n)
	}
	out, err := cl.ListHostedZonesByName(context.Background(), &route53.ListHostedZonesByNameInput{DNSName: aws.String("a.example.com"), MaxItems: aws.Int32(2)})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, z := range out.HostedZones {
		names = append(names, aws.ToString(z.Name))
	}
	if strings.Join(names, " ") != "a.example.com. b.example.com." || !out.IsTruncated || aws.ToString(out.NextDNSName) != "example.org." {
		t.Errorf("by name from a.example.com: %v, truncated %v, next %s", names, out.IsTruncated, aws.ToString(out.NextDNSName))
	}
}

func TestMultiValueAnswer(t *testing.T) {
	srv := r53test.Start(t, r53test.Options{})
	cl, ctx := adminClient(srv), context.Background()
	zid := aws.ToString(createZone(t, cl, "example.com").Id)
	mv := func(id, ip string) types.Change {
		return types.Change{Action: types.ChangeActionCreate, ResourceRecordSet: &types.ResourceRecordSet{Name: aws.String("mv.example.com"),
			Type: types.RRTypeA, SetIdentifier: aws.String(id), MultiValueAnswer: aws.Bool(true), TTL: aws.Int64(60),
			ResourceRecords: []types.ResourceRecord{{Value: aws.String(ip)}}}}
	}
	if _, err := change(t, cl, zid, mv("a", "192.0.2.1"), mv("b", "192.0.2.2")); err != nil {
		t.Fatal(err)
	}
	out, err := cl.ListResourceRecordSets(ctx, &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(zid), StartRecordName: aws.String("mv.example.com")})
	if err != nil || len(out.ResourceRecordSets) != 2 || !aws.ToBool(out.ResourceRecordSets[0].MultiValueAnswer) || out.ResourceRecordSets[0].Weight != nil {
		t.Fatalf("list: %+v, %v", out, err)
	}
	z, _ := srv.Registry.Zone(ctx, "example.com")
	if p := z.Policy("mv.example.com."); p != "multivalue" {
		t.Errorf("policy of mv.example.com = %s; want multivalue", p)
	}
}
