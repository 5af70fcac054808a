package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/dnslb/dnslb/internal/api"
	"github.com/dnslb/dnslb/internal/api/client"
	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/registry"
	"github.com/dnslb/dnslb/internal/store"
	"github.com/dnslb/dnslb/internal/store/boltstore"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type env struct {
	store store.Store
	reg   *registry.Registry
	srv   *httptest.Server
	cl    *client.Client
}

// newEnv runs the API over a registry over a real bolt file, with zone
// lb.test holding one weighted name.
func newEnv(t *testing.T) *env {
	t.Helper()
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "dnslb.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	reg := registry.New(st, registry.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- reg.Run(ctx) }()
	srv := httptest.NewServer(api.New(api.Config{Registry: reg, MaxBody: 64 << 10}))
	t.Cleanup(func() {
		srv.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("registry: %v", err)
		}
		st.Close()
	})
	<-reg.Ready()
	cl, err := client.New(srv.URL, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	e := &env{store: st, reg: reg, srv: srv, cl: cl}
	if _, err := cl.CreateZone(context.Background(), client.ZoneRequest{Name: "lb.test"}); err != nil {
		t.Fatal(err)
	}
	e.put(t, client.SetRequest{Name: "www", Type: "A", SetID: "a", Weight: ptr(10), TTL: ptr[int64](60), Values: []string{"127.0.1.1"}})
	e.put(t, client.SetRequest{Name: "simple", Type: "TXT", Values: []string{"hello"}})
	return e
}

func ptr[T any](v T) *T { return &v }

func (e *env) put(t *testing.T, req client.SetRequest) client.SetResult {
	t.Helper()
	res, err := e.cl.PutSet(context.Background(), "lb.test", req)
	if err != nil {
		t.Fatalf("put %+v: %v", req, err)
	}
	return res
}

// state is everything the store holds, with its revision.
func (e *env) state(t *testing.T) (int64, []record.Zone, []record.Set) {
	t.Helper()
	var zones []record.Zone
	var sets []record.Set
	rev, err := e.store.View(context.Background(), func(tx store.ReadTx) error {
		var err error
		if zones, err = tx.Zones(); err != nil {
			return err
		}
		for _, z := range zones {
			s, err := tx.Sets(z.Name, "")
			if err != nil {
				return err
			}
			sets = append(sets, s...)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return rev, zones, sets
}

func TestSetAndList(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	res := e.put(t, client.SetRequest{Name: "www.lb.test.", Type: "a", SetID: "b", Weight: ptr(30), TTL: ptr[int64](60), Values: []string{"127.0.1.2", "127.0.1.3"}})
	if res.RRSet.Name != "www.lb.test." || res.RRSet.Type != record.A || res.RRSet.State != record.Active || res.Revision == 0 {
		t.Errorf("stored set = %+v", res)
	}
	sets, err := e.cl.Sets(ctx, "lb.test", "www", "A", "")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range sets {
		got = append(got, s.SetID+":"+strings.Join(s.Values, ","))
	}
	if diff := cmp.Diff([]string{"a:127.0.1.1", "b:127.0.1.2,127.0.1.3"}, got); diff != "" {
		t.Errorf("sets (-want +got):\n%s", diff)
	}
	if snap := e.reg.Load(); snap == nil || snap.Rev < res.Revision {
		t.Errorf("snapshot not at revision %d when the call returned", res.Revision)
	}
	if _, err := e.cl.DeleteSet(ctx, "lb.test", "www", "A", "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.cl.DeleteSet(ctx, "lb.test", "www", "A", "a"); !client.IsCode(err, client.CodeNotFound) {
		t.Errorf("second delete: %v, want not_found", err)
	}
}

func TestBatchIsAtomic(t *testing.T) {
	e := newEnv(t)
	rev0, _, sets0 := e.state(t)
	batch := client.ChangeBatch{Changes: []client.Change{
		{Action: "UPSERT", RRSet: client.SetRequest{Name: "www", Type: "A", SetID: "c", Weight: ptr(5), TTL: ptr[int64](60), Values: []string{"127.0.1.5"}}},
		{Action: "CREATE", RRSet: client.SetRequest{Name: "www", Type: "A", SetID: "a", Weight: ptr(5), TTL: ptr[int64](60), Values: []string{"127.0.1.6"}}},
	}}
	_, err := e.cl.Change(context.Background(), "lb.test", batch)
	if !client.IsCode(err, client.CodeExists) {
		t.Fatalf("batch with a failing CREATE: %v, want already_exists", err)
	}
	rev1, _, sets1 := e.state(t)
	if rev1 != rev0 || !cmp.Equal(sets0, sets1) {
		t.Errorf("a rejected batch wrote something: rev %d -> %d", rev0, rev1)
	}
	batch.Changes[1].Action = "UPSERT"
	res, err := e.cl.Change(context.Background(), "lb.test", batch)
	if err != nil || res.Revision != rev0+1 {
		t.Fatalf("batch: %v, revision %d, want %d", err, res.Revision, rev0+1)
	}
}

// TestValidation sends bad requests; each must get a 4xx JSON error naming
// the field, and leave the store exactly as it was.
func TestValidation(t *testing.T) {
	e := newEnv(t)
	long := strings.Repeat("x", 129)
	cases := []struct {
		name, method, path, body string
		status                   int
		code, field              string
	}{
		{"weight too big", "PUT", "/v1/zones/lb.test/rrsets", `{"name":"www","type":"A","set_id":"z","weight":256,"ttl":60,"values":["127.0.1.9"]}`, 400, "invalid_argument", "weight"},
		{"weight negative", "PUT", "/v1/zones/lb.test/rrsets", `{"name":"www","type":"A","set_id":"z","weight":-1,"ttl":60,"values":["127.0.1.9"]}`, 400, "invalid_argument", "weight"},
		{"weight missing with set id", "PUT", "/v1/zones/lb.test/rrsets", `{"name":"www","type":"A","set_id":"z","ttl":60,"values":["127.0.1.9"]}`, 400, "invalid_argument", "weight"},
		{"weight without set id", "PUT", "/v1/zones/lb.test/rrsets", `{"name":"other","type":"A","weight":3,"values":["127.0.1.9"]}`, 400, "invalid_argument", "weight"},
		{"set id too long", "PUT", "/v1/zones/lb.test/rrsets", `{"name":"www","type":"A","set_id":"` + long + `","weight":1,"ttl":60,"values":["127.0.1.9"]}`, 400, "invalid_argument", "set_id"},
		{"ttl negative", "PUT", "/v1/zones/lb.test/rrsets", `{"name":"x","type":"A","ttl":-5,"values":["127.0.1.9"]}`, 400, "invalid_argument", "ttl"},
		{"ttl too big", "PUT", "/v1/zones/lb.test/rrsets", `{"name":"x","type":"A","ttl":2147483648,"values":["127.0.1.9"]}`, 400, "invalid_argument", "ttl"},
		{"simple into weighted", "PUT", "/v1/zones/lb.test/rrsets", `{"name":"www","type":"A","ttl":60,"values":["127.0.1.9"]}`, 400, "invalid_argument", "set_id"},
		{"weighted into simple", "PUT", "/v1/zones/lb.test/rrsets", `{"name":"simple","type":"TXT","set_id":"q","weight":1,"values":["x"]}`, 400, "invalid_argument", "set_id"},
		{"cname beside A", "PUT", "/v1/zones/lb.test/rrsets", `{"name":"www","type":"CNAME","values":["elsewhere.example."]}`, 400, "invalid_argument", "type"},
		{"A beside cname", "PUT", "/v1/zones/lb.test/rrsets", `{"name":"alias","type":"CNAME","values":["www"]}`, 0, "", ""}, // setup: valid
		{"A at a cname", "PUT", "/v1/zones/lb.test/rrsets", `{"name":"alias","type":"A","values":["127.0.0.1"]}`, 400, "invalid_argument", "type"},
		{"cname at apex", "PUT", "/v1/zones/lb.test/rrsets", `{"name":"@","type":"CNAME","values":["x.example."]}`, 400, "invalid_argument", "type"},
		{"two cname values", "PUT", "/v1/zones/lb.test/rrsets", `{"name":"c2","type":"CNAME","values":["a.example.","b.example."]}`, 400, "invalid_argument", "values"},
		{"bad type", "PUT", "/v1/zones/lb.test/rrsets", `{"name":"x","type":"PTR","values":["a."]}`, 400, "invalid_argument", "type"},
		{"no type", "PUT", "/v1/zones/lb.test/rrsets", `{"name":"x","values":["a."]}`, 400, "invalid_argument", "type"},
		{"no name", "PUT", "/v1/zones/lb.test/rrsets", `{"type":"A","values":["127.0.0.1"]}`, 400, "invalid_argument", "name"},
		{"bad ipv4", "PUT", "/v1/zones/lb.test/rrsets", `{"name":"x","type":"A","values":["127.0.0.1","300.1.1.1"]}`, 400, "invalid_argument", "values[1]"},
		{"ipv6 in A", "PUT", "/v1/zones/lb.test/rrsets", `{"name":"x","type":"A","values":["::1"]}`, 400, "invalid_argument", "values[0]"},
		{"ipv4 in AAAA", "PUT", "/v1/zones/lb.test/rrsets", `{"name":"x","type":"AAAA","values":["127.0.0.1"]}`, 400, "invalid_argument", "values[0]"},
		{"duplicate value", "PUT", "/v1/zones/lb.test/rrsets", `{"name":"x","type":"A","values":["127.0.0.1","127.0.0.1"]}`, 400, "invalid_argument", "values[1]"},
		{"no values", "PUT", "/v1/zones/lb.test/rrsets", `{"name":"x","type":"A","values":[]}`, 400, "invalid_argument", "values"},
		{"bad mx", "PUT", "/v1/zones/lb.test/rrsets", `{"name":"x","type":"MX","values":["mail.example."]}`, 400, "invalid_argument", "values[0]"},
		{"bad srv port", "PUT", "/v1/zones/lb.test/rrsets", `{"name":"_s._tcp","type":"SRV","values":["1 1 99999 t.example."]}`, 400, "invalid_argument", "values[0]"},
		{"name outside zone", "PUT", "/v1/zones/lb.test/rrsets", `{"name":"www.example.com.","type":"A","values":["127.0.0.1"]}`, 400, "invalid_argument", "name"},
		{"bad label", "PUT", "/v1/zones/lb.test/rrsets", `{"name":"a b","type":"A","values":["127.0.0.1"]}`, 400, "invalid_argument", "name"},
		{"long label", "PUT", "/v1/zones/lb.test/rrsets", `{"name":"` + strings.Repeat("a", 64) + `","type":"A","values":["127.0.0.1"]}`, 400, "invalid_argument", "name"},
		{"bad policy", "PUT", "/v1/zones/lb.test/rrsets", `{"name":"www","type":"A","set_id":"a","weight":1,"ttl":60,"values":["127.0.1.1"],"policy":"random"}`, 400, "invalid_argument", "policy"},
		{"unknown field", "PUT", "/v1/zones/lb.test/rrsets", `{"name":"x","type":"A","values":["127.0.0.1"],"wieght":3}`, 400, "invalid_argument", "wieght"},
		{"wrong json type", "PUT", "/v1/zones/lb.test/rrsets", `{"name":"x","type":"A","values":"127.0.0.1"}`, 400, "invalid_argument", "values"},
		{"not json", "PUT", "/v1/zones/lb.test/rrsets", `name=x`, 400, "invalid_argument", "body"},
		{"empty body", "PUT", "/v1/zones/lb.test/rrsets", ``, 400, "invalid_argument", "body"},
		{"trailing data", "PUT", "/v1/zones/lb.test/rrsets", `{"name":"x","type":"A","values":["127.0.0.1"]} {}`, 400, "invalid_argument", "body"},
		{"too large", "PUT", "/v1/zones/lb.test/rrsets", `{"name":"x","type":"TXT","values":["` + strings.Repeat("x", 70<<10) + `"]}`, 413, "request_too_large", ""},
		{"unknown zone", "PUT", "/v1/zones/nope.test/rrsets", `{"name":"x","type":"A","values":["127.0.0.1"]}`, 404, "not_found", ""},
		{"bad zone name", "PUT", "/v1/zones/a..b/rrsets", `{"name":"x","type":"A","values":["127.0.0.1"]}`, 400, "invalid_argument", "zone"},
		{"batch bad action", "POST", "/v1/zones/lb.test/changes", `{"changes":[{"action":"UPSERT","rrset":{"name":"y","type":"A","values":["127.0.0.1"]}},{"action":"MERGE","rrset":{"name":"x","type":"A","values":["127.0.0.1"]}}]}`, 400, "invalid_argument", "changes[1].action"},
		{"batch bad second", "POST", "/v1/zones/lb.test/changes", `{"changes":[{"action":"UPSERT","rrset":{"name":"y","type":"A","values":["127.0.0.1"]}},{"action":"UPSERT","rrset":{"name":"x","type":"A","values":["1.2.3"]}}]}`, 400, "invalid_argument", "changes[1].rrset.values[0]"},
		{"batch final state invalid", "POST", "/v1/zones/lb.test/changes", `{"changes":[{"action":"UPSERT","rrset":{"name":"y","type":"A","values":["127.0.0.1"]}},{"action":"UPSERT","rrset":{"name":"www","type":"A","ttl":60,"values":["127.0.1.9"]}}]}`, 400, "invalid_argument", "changes[1].rrset.set_id"},
		{"batch empty", "POST", "/v1/zones/lb.test/changes", `{"changes":[]}`, 400, "invalid_argument", "changes"},
		{"batch delete missing", "POST", "/v1/zones/lb.test/changes", `{"changes":[{"action":"UPSERT","rrset":{"name":"y","type":"A","values":["127.0.0.1"]}},{"action":"DELETE","rrset":{"name":"nothere","type":"A"}}]}`, 404, "not_found", ""},
		{"delete missing", "DELETE", "/v1/zones/lb.test/rrsets/nothere/A", ``, 404, "not_found", ""},
		{"delete bad type", "DELETE", "/v1/zones/lb.test/rrsets/www/XYZ?set_id=a", ``, 400, "invalid_argument", "type"},
		{"zone exists", "POST", "/v1/zones", `{"name":"lb.test"}`, 409, "already_exists", ""},
		{"zone bad name", "POST", "/v1/zones", `{"name":"-bad..zone"}`, 400, "invalid_argument", "name"},
		{"zone no name", "POST", "/v1/zones", `{}`, 400, "invalid_argument", "name"},
		{"zone bad ns", "POST", "/v1/zones", `{"name":"new.test","ns":["not a host"]}`, 400, "invalid_argument", "ns[0]"},
		{"zone glue outside", "POST", "/v1/zones", `{"name":"new.test","ns":["ns.other.test"],"ns_addresses":{"ns.other.test":["192.0.2.1"]}}`, 400, "invalid_argument", "ns_addresses[ns.other.test]"},
		{"zone glue not in ns", "POST", "/v1/zones", `{"name":"new.test","ns_addresses":{"ns9.new.test":["192.0.2.1"]}}`, 400, "invalid_argument", "ns_addresses[ns9.new.test]"},
		{"zone glue bad address", "POST", "/v1/zones", `{"name":"new.test","ns_addresses":{"ns1.new.test":["192.0.2.1","x"]}}`, 400, "invalid_argument", "ns_addresses[ns1.new.test][1]"},
		{"unknown filter", "GET", "/v1/zones/lb.test/rrsets?nmae=www", ``, 400, "invalid_argument", "nmae"},
		{"bad method", "PATCH", "/v1/zones", ``, 405, "method_not_allowed", ""},
		{"unknown path", "GET", "/v2/zones", ``, 404, "not_found", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rev0, zones0, sets0 := e.state(t)
			req, _ := http.NewRequest(tc.method, e.srv.URL+tc.path, strings.NewReader(tc.body))
			req.Header.Set("Content-Type", "application/json")
			resp, err := e.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if tc.status == 0 { // a setup step
				if resp.StatusCode != 200 {
					t.Fatalf("setup step: status %d", resp.StatusCode)
				}
				return
			}
			var body client.ErrorBody
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatalf("status %d, error body not JSON: %v", resp.StatusCode, err)
			}
			if resp.StatusCode != tc.status || body.Error.Code != tc.code || body.Error.Field != tc.field || body.Error.Message == "" {
				t.Errorf("got %d %+v; want %d code %q field %q", resp.StatusCode, body.Error, tc.status, tc.code, tc.field)
			}
			rev1, zones1, sets1 := e.state(t)
			if rev1 != rev0 || !cmp.Equal(zones0, zones1) || !cmp.Equal(sets0, sets1) {
				t.Errorf("the rejected request changed the store (revision %d -> %d)", rev0, rev1)
			}
		})
	}
}

func TestHealthEndpoints(t *testing.T) {
	e := newEnv(t)
	for _, p := range []string{"/healthz", "/readyz"} {
		resp, err := e.srv.Client().Get(e.srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s: %d", p, resp.StatusCode)
		}
	}
}
