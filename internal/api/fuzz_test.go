package api

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/dnslb/dnslb/internal/api/client"
	"github.com/dnslb/dnslb/internal/record"
)

// decodeFuzz decodes body as the handler of a route does, and fails the
// fuzz run when an error names no field.
func decodeFuzz(t *testing.T, body string, into func(*http.Request) error) {
	r := httptest.NewRequest(http.MethodPut, "/v1/zones/lb.test/rrsets", strings.NewReader(body))
	r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, 64<<10)
	err := into(r)
	var fe *record.FieldError
	var tooLarge *http.MaxBytesError
	switch {
	case err == nil, errors.As(err, &tooLarge):
	case !errors.As(err, &fe) || fe.Field == "" || fe.Message == "":
		t.Fatalf("error names no field: %v", err)
	}
}

// FuzzDecodeSet: the body of PUT /v1/zones/{zone}/rrsets never panics,
// and a refusal names the field at fault.
func FuzzDecodeSet(f *testing.F) {
	for _, s := range []string{
		`{"name":"www","type":"A","set_id":"a","weight":10,"ttl":60,"values":["127.0.0.1"],"lease":"15s"}`,
		`{"name":"www","type":"A","values":["127.0.0.1"],"check":{"target":"http://:80/","interval":"2s"}}`,
		`{"weight":"x"}`, `{"ttl":-1}`, `[]`, `{"lease":5}`, `{"values":[1]}`, `{} {}`, `{"check":{"rise":1e99}}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		decodeFuzz(t, body, func(r *http.Request) error {
			var req client.SetRequest
			if err := decodeBody(r, &req); err != nil {
				return err
			}
			_, err := toSet(req)
			return err
		})
	})
}

// FuzzDecodeChanges: the body of POST /v1/zones/{zone}/changes.
func FuzzDecodeChanges(f *testing.F) {
	for _, s := range []string{
		`{"changes":[{"action":"UPSERT","rrset":{"name":"www","type":"A","set_id":"a","weight":1,"values":["127.0.0.1"]}}]}`,
		`{"changes":[{"action":"DELETE","rrset":{"name":"www","type":"A"}}]}`,
		`{"changes":[{"action":"NOPE"}]}`, `{"changes":{}}`, `{"changes":[{"rrset":{"ttl":"x"}}]}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		decodeFuzz(t, body, func(r *http.Request) error {
			var b client.ChangeBatch
			if err := decodeBody(r, &b); err != nil {
				return err
			}
			_, err := toChanges(b)
			return err
		})
	})
}
