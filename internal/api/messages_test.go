package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/dnslb/dnslb/internal/api/client"
)

// TestErrorMessagesWhole pins whole error bodies: the object at fault is
// named once (not "zone x: zone x: not found"), a value the JSON decoder
// cannot read is reported under its own field (not "body"), and a request
// that forgot the set id of a weighted name is told so.
func TestErrorMessagesWhole(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		want                     client.Error
	}{
		{"list unknown zone", "GET", "/v1/zones/nozone.test/rrsets", ``, 404,
			client.Error{Code: "not_found", Message: "zone nozone.test.: not found"}},
		{"get unknown zone", "GET", "/v1/zones/nozone.test", ``, 404,
			client.Error{Code: "not_found", Message: "zone nozone.test.: not found"}},
		{"delete unknown zone", "DELETE", "/v1/zones/nozone.test", ``, 404,
			client.Error{Code: "not_found", Message: "zone nozone.test.: not found"}},
		{"put into unknown zone", "PUT", "/v1/zones/nozone.test/rrsets", `{"name":"x","type":"A","values":["127.0.0.1"]}`, 404,
			client.Error{Code: "not_found", Message: "zone nozone.test.: not found"}},
		{"drain unknown set", "POST", "/v1/zones/lb.test/rrsets/www/A/drain?set_id=zz", ``, 404,
			client.Error{Code: "not_found", Message: "record set www.lb.test. A set zz: not found"}},
		{"drain without set id", "POST", "/v1/zones/lb.test/rrsets/www/A/drain", ``, 400,
			client.Error{Code: "invalid_argument", Field: "set_id", Message: "is required: www.lb.test. A has 1 weighted set (a); name one"}},
		{"delete without set id", "DELETE", "/v1/zones/lb.test/rrsets/www/A", ``, 400,
			client.Error{Code: "invalid_argument", Field: "set_id", Message: "is required: www.lb.test. A has 1 weighted set (a); name one"}},
		{"force without set id", "POST", "/v1/zones/lb.test/rrsets/www/A/health", `{"force":"down"}`, 400,
			client.Error{Code: "invalid_argument", Field: "set_id", Message: "is required: www.lb.test. A has 1 weighted set (a); name one"}},
		{"renew unknown simple set", "POST", "/v1/zones/lb.test/rrsets/nothere/A/renew", ``, 404,
			client.Error{Code: "not_found", Message: "record set nothere.lb.test. A: not found"}},
		{"bad lease", "PUT", "/v1/zones/lb.test/rrsets", `{"name":"x","type":"A","values":["127.0.0.1"],"lease":"bogus"}`, 400,
			client.Error{Code: "invalid_argument", Field: "lease", Message: `"bogus" is not a duration; use e.g. 10s, 1m30s`}},
		{"bad check interval", "PUT", "/v1/zones/lb.test/rrsets", `{"name":"x","type":"A","values":["127.0.0.1"],"check":{"target":"tcp://127.0.0.1:1","interval":true}}`, 400,
			client.Error{Code: "invalid_argument", Field: "check.interval", Message: `true is not a duration; use e.g. 10s, 1m30s`}},
		{"check interval out of range", "PUT", "/v1/zones/lb.test/rrsets", `{"name":"x","type":"A","values":["127.0.0.1"],"check":{"target":"tcp://127.0.0.1:1","interval":"50ms"}}`, 400,
			client.Error{Code: "invalid_argument", Field: "check.interval", Message: "50ms is out of range; allowed 100ms..1h0m0s"}},
		{"batch check target", "POST", "/v1/zones/lb.test/changes", `{"changes":[{"action":"UPSERT","rrset":{"name":"x","type":"A","values":["127.0.0.1"],"check":{"target":"ftp://127.0.0.1:1"}}}]}`, 400,
			client.Error{Code: "invalid_argument", Field: "changes[0].rrset.check.target", Message: `scheme "ftp" is not supported; allowed http://HOST:PORT/PATH, https://HOST:PORT/PATH or tcp://HOST:PORT`}},
		{"bad margin", "POST", "/v1/zones/lb.test/rrsets/www/A/drain?set_id=a", `{"margin":"soon"}`, 400,
			client.Error{Code: "invalid_argument", Field: "margin", Message: `"soon" is not a duration; use e.g. 10s, 1m30s`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, e.srv.URL+tc.path, strings.NewReader(tc.body))
			req.Header.Set("Content-Type", "application/json")
			resp, err := e.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body client.ErrorBody
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatalf("status %d, error body not JSON: %v", resp.StatusCode, err)
			}
			if resp.StatusCode != tc.status || body.Error != tc.want {
				t.Errorf("got %d %+v\nwant %d %+v", resp.StatusCode, body.Error, tc.status, tc.want)
			}
		})
	}
}
