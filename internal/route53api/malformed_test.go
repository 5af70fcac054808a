package route53api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/dnslb/dnslb/internal/registry"
	"github.com/dnslb/dnslb/internal/route53api/r53test"
)

// signedDo sends body to srv's path, signed with the admin key, and
// returns the status and the Error code of the answer.
func signedDo(t *testing.T, srv *r53test.Server, method, path, body string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(body))
	creds := aws.Credentials{AccessKeyID: r53test.KeyID, SecretAccessKey: r53test.Secret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "route53", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var e struct {
		Code    string `xml:"Error>Code"`
		Message string `xml:"Error>Message"`
	}
	_ = xml.Unmarshal(data, &e)
	return resp.StatusCode, e.Code, e.Message
}

const ns = `xmlns="https://route53.amazonaws.com/doc/2013-04-01/"`

// batch wraps changes in a ChangeResourceRecordSetsRequest.
func batch(changes string) string {
	return `<?xml version="1.0" encoding="UTF-8"?><ChangeResourceRecordSetsRequest ` + ns + `><ChangeBatch><Changes>` + changes + `</Changes></ChangeBatch></ChangeResourceRecordSetsRequest>`
}

// rrset is one change of a weighted A set with extra elements inside
// ResourceRecordSet.
func rrset(action, name, extra string) string {
	return `<Change><Action>` + action + `</Action><ResourceRecordSet><Name>` + name + `</Name><Type>A</Type>` + extra +
		`<TTL>60</TTL><ResourceRecords><ResourceRecord><Value>192.0.2.1</Value></ResourceRecord></ResourceRecords></ResourceRecordSet></Change>`
}

func weightedXML(id string, w int) string {
	return fmt.Sprintf("<SetIdentifier>%s</SetIdentifier><Weight>%d</Weight>", id, w)
}

func repeat(n int, f func(i int) string) string {
	var b strings.Builder
	for i := range n {
		b.WriteString(f(i))
	}
	return b.String()
}

func TestMalformedChangeBatches(t *testing.T) {
	srv := r53test.Start(t, r53test.Options{})
	zid := aws.ToString(createZone(t, adminClient(srv), "example.com").Id)
	path := "/2013-04-01" + zid + "/rrset/"
	valid := rrset("CREATE", "ok.example.com", weightedXML("a", 1))
	long := strings.Repeat("x", 4000)
	for _, tc := range []struct {
		name, body, code, msg string
	}{
		{"empty body", "", "InvalidInput", "Invalid XML ; the request body is empty; send a ChangeResourceRecordSetsRequest document"},
		{"not XML", "hello", "InvalidInput", ""},
		{"truncated", batch(valid)[:120], "InvalidInput", ""},
		{"wrong root", `<CreateHostedZoneRequest ` + ns + `/>`, "InvalidInput", ""},
		{"wrong namespace", strings.Replace(batch(valid), "2013-04-01/", "2012-01-01/", 1), "InvalidInput", ""},
		{"no namespace", strings.Replace(batch(valid), ns, "", 1), "InvalidInput", ""},
		{"no batch", `<ChangeResourceRecordSetsRequest ` + ns + `/>`, "InvalidInput", ""},
		{"no changes", batch(""), "InvalidInput", ""},
		{"data after root", batch(valid) + "<x/>", "InvalidInput", "Invalid XML ; content after the ChangeResourceRecordSetsRequest element"},
		{"bad action", valid + rrset("MODIFY", "a.example.com", ""), "", ""},
		{"bad action alone", batch(rrset("MODIFY", "a.example.com", "")), "InvalidInput", "1 validation error detected: Value 'MODIFY' at 'changeBatch.changes.1.member.action' failed to satisfy constraint: Member must satisfy enum value set: [DELETE, CREATE, UPSERT]"},
		{"no record set", batch(`<Change><Action>CREATE</Action></Change>`), "InvalidInput", ""},
		{"weight too high", batch(valid + rrset("CREATE", "w.example.com", weightedXML("a", 300))), "InvalidInput", ""},
		{"weight not a number", batch(rrset("CREATE", "w.example.com", "<SetIdentifier>a</SetIdentifier><Weight>ten</Weight>")), "InvalidInput", ""},
		{"alias", batch(rrset("CREATE", "w.example.com", "<AliasTarget><DNSName>x.</DNSName></AliasTarget>")), "InvalidInput", ""},
		{"latency routing", batch(rrset("CREATE", "w.example.com", "<SetIdentifier>a</SetIdentifier><Region>us-east-1</Region>")), "InvalidInput", ""},
		{"set id without weight", batch(rrset("CREATE", "w.example.com", "<SetIdentifier>a</SetIdentifier>")), "InvalidInput", ""},
		{"weight without set id", batch(rrset("CREATE", "w.example.com", "<Weight>1</Weight>")), "InvalidInput",
			"Invalid request: Missing field 'SetIdentifier' in Change with [Action=CREATE, Name=w.example.com., Type=A, SetIdentifier=null]"},
		{"set id too long", batch(rrset("CREATE", "w.example.com", weightedXML(strings.Repeat("i", 129), 1))), "InvalidInput", ""},
		{"no TTL", batch(`<Change><Action>CREATE</Action><ResourceRecordSet><Name>w.example.com</Name><Type>A</Type><ResourceRecords><ResourceRecord><Value>192.0.2.1</Value></ResourceRecord></ResourceRecords></ResourceRecordSet></Change>`),
			"InvalidInput", "Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords]], but found none in Change with [Action=CREATE, Name=w.example.com., Type=A, SetIdentifier=null]"},
		{"not an address", batch(strings.Replace(valid, "192.0.2.1", "not-an-ip", 1)), "InvalidChangeBatch", ""},
		{"outside the zone", batch(rrset("CREATE", "www.example.org", weightedXML("a", 1))), "InvalidChangeBatch", "[RRSet with DNS name www.example.org. is not permitted in zone example.com.]"},
		{"apex NS", batch(strings.Replace(rrset("UPSERT", "example.com", ""), "<Type>A</Type>", "<Type>NS</Type>", 1)), "InvalidChangeBatch", ""},
		{"unsupported type", batch(strings.Replace(rrset("CREATE", "p.example.com", ""), "<Type>A</Type>", "<Type>PTR</Type>", 1)), "InvalidChangeBatch", ""},
		{"second change fails", batch(valid + strings.Replace(valid, "192.0.2.1", "300.1.1.1", 1)), "InvalidChangeBatch", ""},
		{"create twice in one batch", batch(valid + valid), "InvalidChangeBatch", ""},
		{"delete missing", batch(valid + rrset("DELETE", "gone.example.com", weightedXML("a", 1))), "InvalidChangeBatch",
			"[Tried to delete resource record set [name='gone.example.com.', type='A', set-identifier='a'] but it was not found]"},
		{"1001 records", batch(repeat(1001, func(i int) string { return rrset("CREATE", fmt.Sprintf("n%d.example.com", i), "") })), "InvalidChangeBatch", "[Number of records limit of 1000 exceeded.]"},
		{"501 upserts", batch(repeat(501, func(i int) string { return rrset("UPSERT", fmt.Sprintf("n%d.example.com", i), "") })), "InvalidChangeBatch", "[Number of records limit of 1000 exceeded.]"},
		{"32,001 characters", batch(repeat(9, func(i int) string {
			return fmt.Sprintf(`<Change><Action>CREATE</Action><ResourceRecordSet><Name>t%d.example.com</Name><Type>TXT</Type><TTL>60</TTL><ResourceRecords><ResourceRecord><Value>"%s"</Value></ResourceRecord></ResourceRecords></ResourceRecordSet></Change>`, i, long)
		})), "InvalidChangeBatch", "[Number of characters limit of 32000 exceeded.]"},
		{"101 weighted sets", batch(repeat(101, func(i int) string { return rrset("CREATE", "many.example.com", weightedXML(fmt.Sprint(i), 1)) })), "InvalidChangeBatch", ""},
		{"entity", `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]>` + batch(strings.Replace(valid, "ok.example", "&e;.example", 1))[len(`<?xml version="1.0" encoding="UTF-8"?>`):], "InvalidInput", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.code == "" {
				tc.body, tc.code = batch(tc.body), "InvalidInput"
			}
			before := stored(t, srv)
			status, code, msg := signedDo(t, srv, http.MethodPost, path, tc.body)
			if code != tc.code || status != http.StatusBadRequest || tc.msg != "" && msg != tc.msg {
				t.Errorf("got %d %s %q; want 400 %s %q", status, code, msg, tc.code, tc.msg)
			}
			if after := stored(t, srv); after != before {
				t.Errorf("the refused batch wrote: %s, then %s", before, after)
			}
		})
	}
}

// stored sums up what the registry holds.
func stored(t *testing.T, srv *r53test.Server) string {
	t.Helper()
	zones, err := srv.Registry.Zones(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	for _, z := range zones {
		sets, err := srv.Registry.Sets(context.Background(), z.Name, registry.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s rev %d: %d sets; ", z.Name, z.Revision, len(sets))
	}
	return b.String()
}
