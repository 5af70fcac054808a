package route53api

import (
	"errors"
	"testing"

	"github.com/dnslb/dnslb/internal/record"
)

// FuzzChangeBatch holds the XML decoder and the checks of a change batch
// to answering every body with a Route 53 error or changes the registry
// can take, never a panic.
func FuzzChangeBatch(f *testing.F) {
	for _, s := range []string{
		`<ChangeResourceRecordSetsRequest xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><ChangeBatch><Changes><Change><Action>UPSERT</Action><ResourceRecordSet><Name>www.example.com</Name><Type>A</Type><SetIdentifier>i-1</SetIdentifier><Weight>10</Weight><TTL>60</TTL><ResourceRecords><ResourceRecord><Value>192.0.2.1</Value></ResourceRecord></ResourceRecords></ResourceRecordSet></Change></Changes></ChangeBatch></ChangeResourceRecordSetsRequest>`,
		`<ChangeResourceRecordSetsRequest xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><ChangeBatch><Changes><Change><Action>DELETE</Action><ResourceRecordSet><Name>\052.example.com.</Name><Type>TXT</Type><TTL>0</TTL><HealthCheckId>x</HealthCheckId><ResourceRecords><ResourceRecord><Value>"a\"b" "c"</Value></ResourceRecord></ResourceRecords></ResourceRecordSet></Change></Changes></ChangeBatch></ChangeResourceRecordSetsRequest>`,
		`<ChangeResourceRecordSetsRequest/>`, `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "y">]><x>&e;</x>`, "",
	} {
		f.Add([]byte(s))
	}
	h := New(Options{})
	z := record.Zone{Name: "example.com."}
	f.Fuzz(func(t *testing.T, body []byte) {
		b, err := decodeBatch(body)
		var e *Error
		if err != nil {
			if !errors.As(err, &e) {
				t.Fatalf("decode error %v is not a Route 53 error", err)
			}
			return
		}
		changes, err := h.toChanges(z, b)
		if err != nil {
			if !errors.As(err, &e) {
				t.Fatalf("change error %v is not a Route 53 error", err)
			}
			return
		}
		for _, c := range changes {
			if !record.InZone(c.c.Set.Name, z.Name) || len(c.c.Set.Values) == 0 {
				t.Fatalf("accepted change %+v is not in the zone or has no values", c.c.Set)
			}
		}
	})
}

// FuzzParseKeys holds the credentials file parser to errors, never
// panics, and keys it accepts to ids and secrets it can sign with.
func FuzzParseKeys(f *testing.F) {
	f.Add([]byte("AKIAOPS0000000000001 wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY admin\n# c\n\nAKIAPOOL000000000001 je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY register:*.pool.example.com@i-1\n"))
	f.Add([]byte("x y z"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ks, err := ParseKeys(data)
		if err != nil {
			return
		}
		for id, k := range ks.byID {
			if id != k.ID || len(k.Secret) < 16 || k.Token == nil {
				t.Fatalf("accepted key %+v", k)
			}
		}
	})
}
