package cli_test

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// boto3Script drives the Route 53 API with boto3 and prints what it saw as
// one JSON object. argv: endpoint, key id, secret.
const boto3Script = `
import json, sys, boto3, botocore
endpoint, key, secret = sys.argv[1:4]
def client(svc, sec=secret):
    return boto3.client(svc, endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=key, aws_secret_access_key=sec)
r53, out = client("route53"), {"boto3": boto3.__version__}
zid = r53.create_hosted_zone(Name="example.com", CallerReference="boto3-1")["HostedZone"]["Id"]
def weighted(action, sid, ip, w):
    return {"Action": action, "ResourceRecordSet": {"Name": "www.example.com", "Type": "A", "SetIdentifier": sid,
            "Weight": w, "TTL": 60, "ResourceRecords": [{"Value": ip}]}}
ch = r53.change_resource_record_sets(HostedZoneId=zid, ChangeBatch={"Changes": [
    weighted("UPSERT", "i-1", "127.0.1.1", 10), weighted("UPSERT", "i-2", "127.0.1.2", 20), weighted("UPSERT", "i-3", "127.0.1.3", 30)]})
r53.get_waiter("resource_record_sets_changed").wait(Id=ch["ChangeInfo"]["Id"], WaiterConfig={"Delay": 1, "MaxAttempts": 10})
out["status"] = r53.get_change(Id=ch["ChangeInfo"]["Id"])["ChangeInfo"]["Status"]
pages = list(r53.get_paginator("list_resource_record_sets").paginate(HostedZoneId=zid, PaginationConfig={"PageSize": 2}))
out["pages"] = len(pages)
out["listed"] = [r["Name"] + " " + r["Type"] + " " + r.get("SetIdentifier", "") for p in pages for r in p["ResourceRecordSets"]]
r53.change_resource_record_sets(HostedZoneId=zid, ChangeBatch={"Changes": [weighted("DELETE", "i-2", "127.0.1.2", 20)]})
try:
    r53.change_resource_record_sets(HostedZoneId=zid, ChangeBatch={"Changes": [weighted("CREATE", "i-1", "127.0.1.1", 10)]})
except botocore.exceptions.ClientError as e:
    out["duplicate"] = [e.response["Error"]["Code"], e.response["Error"]["Message"]]
try:
    client("route53", "a-wrong-secret-access-key-000000000").list_hosted_zones()
except botocore.exceptions.ClientError as e:
    out["wrong_secret"] = e.response["Error"]["Code"]
out["account"] = client("sts").get_caller_identity()["Account"]
print(json.dumps(out))
`

func TestBoto3Route53(t *testing.T) {
	needTool(t, "/usr/bin/python3")
	if err := exec.Command("/usr/bin/python3", "-c", "import boto3").Run(); err != nil {
		t.Skipf("boto3 is not installed (.ci/run installs python3-boto3): %v", err)
	}
	s := startRoute53(t, "127.0.0.62")
	cmd := exec.Command("/usr/bin/python3", "-c", boto3Script, "http://"+s.api, r53Key, r53Secret)
	cmd.Env = r53Env(t, "")
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	if err := cmd.Run(); err != nil {
		t.Fatalf("boto3: %v\n%s", err, e.String())
	}
	var got struct {
		Boto3, Status, Account string
		WrongSecret            string `json:"wrong_secret"`
		Pages                  int
		Listed, Duplicate      []string
	}
	if err := json.Unmarshal(o.Bytes(), &got); err != nil {
		t.Fatalf("%v: %s", err, o.String())
	}
	t.Logf("boto3 %s", got.Boto3)
	want := "example.com. NS |example.com. SOA |www.example.com. A i-1|www.example.com. A i-2|www.example.com. A i-3"
	switch {
	case got.Status != "INSYNC":
		t.Errorf("status %q", got.Status)
	case got.Pages != 3 || strings.Join(got.Listed, "|") != want:
		t.Errorf("%d pages listed %q; want 3 pages of %q", got.Pages, got.Listed, want)
	case len(got.Duplicate) != 2 || got.Duplicate[0] != "InvalidChangeBatch" ||
		got.Duplicate[1] != "[Tried to create resource record set [name='www.example.com.', type='A', set-identifier='i-1'] but it already exists]":
		t.Errorf("duplicate CREATE: %q", got.Duplicate)
	case got.WrongSecret != "SignatureDoesNotMatch" || got.Account != "000000000000":
		t.Errorf("wrong secret %q, account %q", got.WrongSecret, got.Account)
	}
	r53Shares(t, s, map[string]float64{"127.0.1.1": 10, "127.0.1.3": 30})
}
