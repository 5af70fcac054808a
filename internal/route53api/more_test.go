package route53api_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/dnslb/dnslb/internal/registry"
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

// SIGHUP (Handler.Reload) reads the credentials file again: a key added
// works, a key removed is refused; a file that does not load keeps the
// keys in use.
func TestReloadKeys(t *testing.T) {
	file := t.TempDir() + "/creds"
	write := func(s string) {
		if err := os.WriteFile(file, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(r53test.KeyID + " " + r53test.Secret + " admin\n")
	keys, err := route53api.ReadKeys(file)
	if err != nil {
		t.Fatal(err)
	}
	srv := r53test.Start(t, r53test.Options{Keys: keys, KeysFile: file})
	other := newClient(srv, "AKIAOTHER0000000001", "other-secret-access-key-000000001")
	write("AKIAOTHER0000000001 other-secret-access-key-000000001 read\n")
	if err := srv.Handler.Reload(); err != nil {
		t.Fatal(err)
	}
	if _, err := other.ListHostedZones(context.Background(), &route53.ListHostedZonesInput{}); err != nil {
		t.Errorf("added key after reload: %v", err)
	}
	if _, err := adminClient(srv).ListHostedZones(context.Background(), &route53.ListHostedZonesInput{}); apiCode(err) != "InvalidClientTokenId" {
		t.Errorf("removed key after reload: %v; want InvalidClientTokenId", err)
	}
	write("garbage\n")
	if err := srv.Handler.Reload(); err == nil || err.Error() != "r53 credentials file "+file+": line 1: 1 fields; want 3: ACCESS_KEY_ID SECRET_ACCESS_KEY SCOPE" {
		t.Errorf("reload of a bad file: %v", err)
	}
	if _, err := other.ListHostedZones(context.Background(), &route53.ListHostedZonesInput{}); err != nil {
		t.Errorf("key in use after a failed reload: %v", err)
	}
}

// Values of every type round-trip through Route 53's forms (TXT quoted).
func TestValueForms(t *testing.T) {
	srv := r53test.Start(t, r53test.Options{})
	cl, ctx := adminClient(srv), context.Background()
	zid := aws.ToString(createZone(t, cl, "example.com").Id)
	simple := func(name string, typ types.RRType, values ...string) types.Change {
		rrs := &types.ResourceRecordSet{Name: aws.String(name), Type: typ, TTL: aws.Int64(300)}
		for _, v := range values {
			rrs.ResourceRecords = append(rrs.ResourceRecords, types.ResourceRecord{Value: aws.String(v)})
		}
		return types.Change{Action: types.ChangeActionCreate, ResourceRecordSet: rrs}
	}
	if _, err := change(t, cl, zid, simple("example.com", types.RRTypeMx, "10 mail.example.com."),
		simple("txt.example.com", types.RRTypeTxt, `"v=spf1 -all"`, `"say \"hi\""`),
		simple("v6.example.com", types.RRTypeAaaa, "2001:db8::1"),
		simple("alias.example.com", types.RRTypeCname, "www.example.com"),
		simple("_sip._tcp.example.com", types.RRTypeSrv, "1 10 5060 sip.example.com.")); err != nil {
		t.Fatal(err)
	}
	out, err := cl.ListResourceRecordSets(ctx, &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(zid)})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range out.ResourceRecordSets {
		var vs []string
		for _, v := range r.ResourceRecords {
			vs = append(vs, aws.ToString(v.Value))
		}
		got = append(got, aws.ToString(r.Name)+" "+string(r.Type)+" "+strings.Join(vs, ","))
	}
	want := []string{"example.com. MX 10 mail.example.com.", "example.com. NS ns1.example.com.",
		"example.com. SOA ns1.example.com. hostmaster.example.com. " + got[2][len("example.com. SOA ns1.example.com. hostmaster.example.com. "):],
		"_sip._tcp.example.com. SRV 1 10 5060 sip.example.com.", "alias.example.com. CNAME www.example.com.",
		`txt.example.com. TXT "v=spf1 -all","say \"hi\""`, "v6.example.com. AAAA 2001:db8::1"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("listed\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestListHostedZonesPaging(t *testing.T) {
	srv := r53test.Start(t, r53test.Options{})
	cl := adminClient(srv)
	for _, n := range []string{"a.test", "b.test", "c.test"} {
		createZone(t, cl, n)
	}
	var names []string
	p := route53.NewListHostedZonesPaginator(cl, &route53.ListHostedZonesInput{MaxItems: aws.Int32(2)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, z := range page.HostedZones {
			names = append(names, aws.ToString(z.Name))
		}
	}
	if strings.Join(names, " ") != "a.test. b.test. c.test." {
		t.Errorf("zones over pages of 2: %v", names)
	}
}

// A signature is over the body: a request replayed with another body, or
// one claiming UNSIGNED-PAYLOAD, is refused.
func TestSignatureCoversBody(t *testing.T) {
	srv := r53test.Start(t, r53test.Options{})
	zid := aws.ToString(createZone(t, adminClient(srv), "example.com").Id)
	body := batch(rrset("CREATE", "a.example.com", weightedXML("a", 1)))
	for _, claimed := range []string{"UNSIGNED-PAYLOAD", "hash of the original"} {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/2013-04-01"+zid+"/rrset/", strings.NewReader(body))
		hash := claimed
		if claimed == "hash of the original" {
			sum := sha256.Sum256([]byte(batch(rrset("CREATE", "b.example.com", weightedXML("b", 1)))))
			hash = hex.EncodeToString(sum[:])
		}
		req.Header.Set("X-Amz-Content-Sha256", hash)
		creds := aws.Credentials{AccessKeyID: r53test.KeyID, SecretAccessKey: r53test.Secret}
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hash, "route53", "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("body hash %s: status %d; want 403", claimed, resp.StatusCode)
		}
	}
	if got := stored(t, srv); !strings.Contains(got, "0 sets") {
		t.Errorf("a refused request wrote: %s", got)
	}
}

// A change DNS answers do not carry yet is PENDING, in its answer and in
// GetChange.
func TestPendingUntilApplied(t *testing.T) {
	srv := r53test.Start(t, r53test.Options{Stalled: true, Registry: registry.Options{VisibleWait: 20 * time.Millisecond}})
	cl, ctx := adminClient(srv), context.Background()
	out, err := cl.CreateHostedZone(ctx, &route53.CreateHostedZoneInput{Name: aws.String("example.com"), CallerReference: aws.String("p")})
	if err != nil || out.ChangeInfo.Status != types.ChangeStatusPending {
		t.Fatalf("CreateHostedZone on a stalled server: %+v, %v; want PENDING", out, err)
	}
	info, err := change(t, cl, aws.ToString(out.HostedZone.Id), weighted(types.ChangeActionCreate, "www.example.com", "i-1", 10, 60, "192.0.2.1"))
	if err != nil || info.Status != types.ChangeStatusPending {
		t.Fatalf("change on a stalled server: %+v, %v; want PENDING", info, err)
	}
	if got, err := cl.GetChange(ctx, &route53.GetChangeInput{Id: info.Id}); err != nil || got.ChangeInfo.Status != types.ChangeStatusPending {
		t.Errorf("GetChange = %+v, %v; want PENDING", got, err)
	}
}
