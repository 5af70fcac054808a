package webhook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"go.uber.org/goleak"

	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/registry"
	"github.com/dnslb/dnslb/internal/store/boltstore"
	"github.com/dnslb/dnslb/internal/webhook"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type env struct {
	reg *registry.Registry
	srv *httptest.Server
}

// newEnv serves the webhook over a registry over a real bolt file, with
// zone lb.test.
func newEnv(t testing.TB) *env {
	t.Helper()
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "dnslb.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	reg := registry.New(st, registry.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- reg.Run(ctx) }()
	srv := httptest.NewServer(webhook.New(webhook.Config{Registry: reg, MaxBody: 64 << 10}))
	t.Cleanup(func() {
		srv.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("registry: %v", err)
		}
		st.Close()
	})
	<-reg.Ready()
	if err := reg.EnsureZone(context.Background(), "lb.test"); err != nil {
		t.Fatal(err)
	}
	return &env{reg: reg, srv: srv}
}

// do sends a request with the protocol's headers, as external-dns's
// webhook client does, and returns status, content type and body.
func (e *env) do(t *testing.T, method, path, body string) (int, string, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", webhook.MediaType)
	if body != "" {
		req.Header.Set("Content-Type", webhook.MediaType)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

// post sends body and wants 204 No Content, as external-dns's ApplyChanges does.
func (e *env) post(t *testing.T, path, body string) {
	t.Helper()
	if status, _, b := e.do(t, "POST", path, body); status != http.StatusNoContent {
		t.Fatalf("POST %s: %d %s", path, status, b)
	}
}

// records returns GET path's endpoints, checking status and content type.
func (e *env) records(t *testing.T, path string) []webhook.Endpoint {
	t.Helper()
	status, ct, body := e.do(t, "GET", path, "")
	if status != http.StatusOK || ct != webhook.MediaType {
		t.Fatalf("GET %s: %d %q %s", path, status, ct, body)
	}
	var eps []webhook.Endpoint
	if err := json.Unmarshal([]byte(body), &eps); err != nil {
		t.Fatalf("GET %s: %v in %s", path, err, body)
	}
	return eps
}

func fixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// sameJSON compares two JSON documents by value.
func sameJSON(t *testing.T, what, got, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Fatalf("%s: %v in %s", what, err, got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("%s: fixture: %v", what, err)
	}
	if d := cmp.Diff(w, g); d != "" {
		t.Errorf("%s (-want +got):\n%s", what, d)
	}
}

func sets(t *testing.T, reg *registry.Registry) []record.Set {
	t.Helper()
	s, err := reg.Sets(context.Background(), "lb.test", registry.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestNegotiate(t *testing.T) {
	e := newEnv(t)
	if err := e.reg.EnsureZone(context.Background(), "a.example"); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/", "/owner/cluster-a", "/owner/cluster-a/"} {
		status, ct, body := e.do(t, "GET", path, "")
		if status != http.StatusOK || ct != webhook.MediaType {
			t.Fatalf("GET %s: %d %q", path, status, ct)
		}
		sameJSON(t, "GET "+path, body, `{"include":["a.example","lb.test"]}`)
	}
	if status, _, body := e.do(t, "GET", "/healthz", ""); status != http.StatusOK || body != "ok\n" {
		t.Errorf("GET /healthz: %d %q", status, body)
	}
}

// TestChangesFromFixtures applies plan.Changes as external-dns sends them
// and reads back GET /records in the shapes external-dns decodes.
func TestChangesFromFixtures(t *testing.T) {
	e := newEnv(t)
	e.post(t, "/records", fixture(t, "changes-create.json"))
	_, _, got := e.do(t, "GET", "/records", "")
	sameJSON(t, "records after create", got, fixture(t, "records-after-create.json"))

	e.post(t, "/records", fixture(t, "changes-update.json"))
	eps := e.records(t, "/records")
	want := []webhook.Endpoint{
		{DNSName: "www.lb.test", Targets: []string{"127.0.1.1", "127.0.1.2"}, RecordType: "A", SetIdentifier: "cluster-a", RecordTTL: 60,
			ProviderSpecific: []webhook.Property{{Name: "aws/weight", Value: "20"}}},
	}
	if d := cmp.Diff(want, eps[:1]); d != "" || len(eps) != 2 {
		t.Errorf("records after update (-want +got):\n%s\nall: %+v", d, eps)
	}
	for _, s := range sets(t, e.reg) {
		if s.Owner != "external-dns/external-dns" {
			t.Errorf("%s: owner %q", s.Key, s.Owner)
		}
	}
}

func TestAdjustEndpoints(t *testing.T) {
	e := newEnv(t)
	status, ct, body := e.do(t, "POST", "/adjustendpoints", fixture(t, "adjust-in.json"))
	if status != http.StatusOK || ct != webhook.MediaType {
		t.Fatalf("adjustendpoints: %d %q %s", status, ct, body)
	}
	sameJSON(t, "adjusted", body, fixture(t, "adjust-out.json"))
	if n := len(sets(t, e.reg)); n != 0 {
		t.Errorf("adjustendpoints wrote %d sets", n)
	}
}

// TestAdjustedAreStable: once the adjusted endpoints are stored, GET
// /records shows them exactly as adjusted (TTL aside when not given), so
// external-dns's planner finds nothing to change on its next run.
func TestAdjustedAreStable(t *testing.T) {
	e := newEnv(t)
	_, _, body := e.do(t, "POST", "/adjustendpoints", fixture(t, "adjust-in.json"))
	var adjusted []webhook.Endpoint
	if err := json.Unmarshal([]byte(body), &adjusted); err != nil {
		t.Fatal(err)
	}
	ch, _ := json.Marshal(map[string]any{"create": adjusted})
	e.post(t, "/records", string(ch))
	got := e.records(t, "/records")
	for i := range adjusted {
		adjusted[i].Labels = nil
		if adjusted[i].RecordTTL == 0 {
			adjusted[i].RecordTTL = webhook.DefaultTTL
		}
	}
	byKey := cmpopts.SortSlices(func(a, b webhook.Endpoint) bool { return a.DNSName+a.RecordType < b.DNSName+b.RecordType })
	if d := cmp.Diff(adjusted, got, byKey); d != "" {
		t.Errorf("records differ from the adjusted endpoints (-adjusted +records):\n%s", d)
	}
}

func weighted(name, setID, target, weight string) string {
	b, _ := json.Marshal(map[string]any{"create": []webhook.Endpoint{{DNSName: name, Targets: []string{target}, RecordType: "A",
		SetIdentifier: setID, RecordTTL: 60, ProviderSpecific: []webhook.Property{{Name: "aws/weight", Value: weight}}}}})
	return string(b)
}

// TestTwoWritersShareOneName: two clusters publish www.lb.test under
// their own set ids; each sees and changes only its own set, and the
// name answers with both.
func TestTwoWritersShareOneName(t *testing.T) {
	e := newEnv(t)
	e.post(t, "/owner/cluster-a/records", weighted("www.lb.test", "cluster-a", "127.0.1.1", "10"))
	e.post(t, "/owner/cluster-b/records", weighted("www.lb.test", "cluster-b", "127.0.1.2", "30"))

	for _, w := range []string{"cluster-a", "cluster-b"} {
		eps := e.records(t, "/owner/"+w+"/records")
		if len(eps) != 1 || eps[0].SetIdentifier != w {
			t.Errorf("%s sees %+v; want its own set only", w, eps)
		}
	}
	// cluster-a's external-dns, not seeing cluster-b's set, might plan to
	// delete or take it: both are skipped.
	steal := weighted("www.lb.test", "cluster-b", "127.0.1.9", "255")
	e.post(t, "/owner/cluster-a/records", steal)
	del := strings.Replace(steal, `"create"`, `"delete"`, 1)
	e.post(t, "/owner/cluster-a/records", del)

	got := map[string]string{}
	for _, s := range sets(t, e.reg) {
		got[s.SetID] = s.Owner + " " + s.Values[0]
	}
	want := map[string]string{"cluster-a": "external-dns/cluster-a 127.0.1.1", "cluster-b": "external-dns/cluster-b 127.0.1.2"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("sets (-want +got):\n%s", d)
	}
}

// TestForeignSetsUntouched: sets written through /v1 (by an operator or an
// agent) are neither listed nor changed by a writer.
func TestForeignSetsUntouched(t *testing.T) {
	e := newEnv(t)
	if _, err := e.reg.Apply(context.Background(), "lb.test", []registry.Change{{Action: registry.Upsert, Set: record.Set{
		Key: record.Key{Name: "www", Type: record.A, SetID: "i-1"}, Weight: 10, TTL: 60, Values: []string{"127.0.2.1"}}}}); err != nil {
		t.Fatal(err)
	}
	if eps := e.records(t, "/records"); len(eps) != 0 {
		t.Errorf("records show a set the writer does not own: %+v", eps)
	}
	e.post(t, "/records", strings.Replace(weighted("www.lb.test", "i-1", "127.0.2.1", "10"), `"create"`, `"delete"`, 1))
	e.post(t, "/records", weighted("www.lb.test", "i-1", "127.0.2.9", "10"))
	s := sets(t, e.reg)
	if len(s) != 1 || s[0].Values[0] != "127.0.2.1" || s[0].Owner != "" {
		t.Errorf("the agent's set was changed: %+v", s)
	}
}

// TestErrors: each bad request gets its status and a message naming what
// is wrong, and writes nothing.
func TestErrors(t *testing.T) {
	e := newEnv(t)
	big := `{"create":[{"dnsName":"` + strings.Repeat("a", 70<<10) + `"}]}`
	for _, c := range []struct {
		name, method, path, ctype, body string
		status                          int
		msg                             string
	}{
		{"not json", "POST", "/records", webhook.MediaType, `{"create":`, 400, "body: not valid JSON of the webhook protocol: unexpected EOF\n"},
		{"wrong shape", "POST", "/records", webhook.MediaType, `{"create":{}}`, 400,
			"body: not valid JSON of the webhook protocol: json: cannot unmarshal object into Go struct field Changes.create of type []*webhook.Endpoint\n"},
		{"content type", "POST", "/records", "text/plain", `{}`, 415,
			"Content-Type \"text/plain\": allowed application/external.dns.webhook+json;version=1 or application/json\n"},
		{"too large", "POST", "/records", webhook.MediaType, big, 413, "body: larger than 65536 bytes\n"},
		{"bad value", "POST", "/records", webhook.MediaType,
			`{"create":[{"dnsName":"ok.lb.test","targets":["127.0.0.1"],"recordType":"A"},{"dnsName":"www.lb.test","targets":["not-an-ip"],"recordType":"A"}]}`, 400,
			"create[1] (www.lb.test A): values[0]: \"not-an-ip\" is not an IP address\n"},
		{"bad weight", "POST", "/records", webhook.MediaType, weighted("www.lb.test", "a", "127.0.0.1", "256"), 400,
			"create[0] (www.lb.test A set a): providerSpecific aws/weight: \"256\" is not a weight; allowed 0..255\n"},
		{"outside zones", "POST", "/records", webhook.MediaType, weighted("www.other.test", "a", "127.0.0.1", "1"), 400,
			"create[0] (www.other.test A set a): dnsName: \"www.other.test\" is in no zone dnslb serves (lb.test.)\n"},
		{"bad owner", "GET", "/owner/Cluster%20A/records", "", "", 400,
			"owner \"Cluster A\": allowed 1..63 characters of a-z, 0-9, '-', '_' and '.'\n"},
		{"method", "PUT", "/records", webhook.MediaType, `{}`, 405, "Method Not Allowed\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(c.method, e.srv.URL+c.path, bytes.NewBufferString(c.body))
			if c.ctype != "" {
				req.Header.Set("Content-Type", c.ctype)
			}
			resp, err := e.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != c.status || string(b) != c.msg {
				t.Errorf("got %d %q\nwant %d %q", resp.StatusCode, b, c.status, c.msg)
			}
			if n := len(sets(t, e.reg)); n != 0 {
				t.Errorf("a refused request wrote %d sets", n)
			}
		})
	}
}

// TestServeOnItsOwnAddress runs the server on a port of its own until
// its context ends.
func TestServeOnItsOwnAddress(t *testing.T) {
	e := newEnv(t)
	s := webhook.New(webhook.Config{Addr: "127.0.0.1:0", Registry: e.reg})
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	resp, err := http.Get("http://" + s.Addr() + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || ct != webhook.MediaType {
		t.Errorf("GET /: %d %q", resp.StatusCode, ct)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
}
