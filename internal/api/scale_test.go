package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dnslb/dnslb/internal/api"
	"github.com/dnslb/dnslb/internal/api/client"
	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/registry"
	"github.com/dnslb/dnslb/internal/store"
	"github.com/dnslb/dnslb/internal/store/boltstore"
)

// do sends a raw request and returns the status and body.
func do(t *testing.T, srv *httptest.Server, method, path, body string) (int, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

func errorOf(t *testing.T, b []byte) client.Error {
	t.Helper()
	var eb client.ErrorBody
	if err := json.Unmarshal(b, &eb); err != nil {
		t.Fatalf("error body %s: %v", b, err)
	}
	return eb.Error
}

// TestWriteNotYetVisible: a write committed while the registry publishes
// nothing (its loop is not running) is answered 202 not_yet_visible with
// its revision, not a 500, and is durable: a listing has it, and a client
// that sends it again learns it exists.
func TestWriteNotYetVisible(t *testing.T) {
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "dnslb.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Update(context.Background(), func(tx store.Tx) error { return tx.PutZone(record.NewZone("lb.test.")) }); err != nil {
		t.Fatal(err)
	}
	reg := registry.New(st, registry.Options{VisibleWait: 20 * time.Millisecond}) // never Run: nothing is published
	srv := httptest.NewServer(api.New(api.Config{Registry: reg}))
	defer srv.Close()

	create := `{"changes":[{"action":"CREATE","rrset":{"name":"www","type":"A","values":["127.0.0.1"]}}]}`
	status, b := do(t, srv, "POST", "/v1/zones/lb.test/changes", create)
	var res client.ChangeResult
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatalf("body %s: %v", b, err)
	}
	want := client.ChangeResult{Revision: 2, Pending: client.Pending{Status: "PENDING", Code: "not_yet_visible",
		Message: "the change is committed (revision 2) but DNS answers do not carry it yet; they will without anything more being done: do not send it again"}}
	if status != http.StatusAccepted || res != want {
		t.Fatalf("CREATE with publishing stalled: %d %s; want 202 %+v", status, b, want)
	}
	status, b = do(t, srv, "PUT", "/v1/zones/lb.test/rrsets", `{"name":"api","type":"A","values":["127.0.0.2"]}`)
	var set client.SetResult
	if err := json.Unmarshal(b, &set); err != nil || status != http.StatusAccepted || !set.IsPending() || set.RRSet.Name != "api.lb.test." || set.Revision != 3 {
		t.Errorf("PUT with publishing stalled: %d %s", status, b)
	}
	if status, b = do(t, srv, "GET", "/v1/zones/lb.test/rrsets?name=www", ""); status != 200 || !strings.Contains(string(b), `"127.0.0.1"`) {
		t.Errorf("the committed set is not listed: %d %s", status, b)
	}
	if status, b = do(t, srv, "POST", "/v1/zones/lb.test/changes", create); status != http.StatusConflict || errorOf(t, b).Code != "already_exists" {
		t.Errorf("CREATE again: %d %s", status, b)
	}
	// A drain's answer (safe_at) cannot be given before answers carry it:
	// an error, never a 2xx with a body that lacks it.
	status, b = do(t, srv, "POST", "/v1/zones/lb.test/rrsets/www/A/drain", "")
	if got := errorOf(t, b); status != http.StatusServiceUnavailable || got.Code != "not_yet_visible" || !strings.Contains(got.Message, "revision 4") {
		t.Errorf("drain with publishing stalled: %d %s", status, b)
	}
	status, b = do(t, srv, "DELETE", "/v1/zones/lb.test/rrsets/api/A", "")
	if err := json.Unmarshal(b, &res); err != nil || status != http.StatusAccepted || !res.IsPending() || res.Revision != 5 {
		t.Errorf("DELETE with publishing stalled: %d %s", status, b)
	}
	if status, b = do(t, srv, "DELETE", "/v1/zones/lb.test?force=true", ""); status != http.StatusAccepted {
		t.Errorf("zone DELETE with publishing stalled: %d %s", status, b)
	}
}

// TestDeleteZoneNeedsForce: a zone with record sets is deleted only with
// ?force=true, as Route 53 refuses to delete a hosted zone with records.
func TestDeleteZoneNeedsForce(t *testing.T) {
	e := newEnv(t)
	rev0, _, _ := e.state(t)
	status, b := do(t, e.srv, "DELETE", "/v1/zones/lb.test", "")
	want := client.Error{Code: "zone_not_empty",
		Message: "zone lb.test. holds 2 record sets; delete them first, or delete the zone with them with force (dnslb zone rm --force, DELETE ?force=true)"}
	if got := errorOf(t, b); status != http.StatusConflict || got != want {
		t.Errorf("DELETE of a zone with sets: %d %+v; want 409 %+v", status, got, want)
	}
	if rev, _, _ := e.state(t); rev != rev0 {
		t.Errorf("the refused delete wrote revision %d", rev)
	}
	if status, b = do(t, e.srv, "DELETE", "/v1/zones/lb.test?force=maybe", ""); status != 400 || errorOf(t, b).Field != "force" {
		t.Errorf("DELETE ?force=maybe: %d %s", status, b)
	}
	if status, b = do(t, e.srv, "DELETE", "/v1/zones/lb.test?force=true", ""); status != http.StatusNoContent {
		t.Fatalf("DELETE ?force=true: %d %s", status, b)
	}
	if _, zones, sets := e.state(t); len(zones) != 0 || len(sets) != 0 {
		t.Errorf("after the delete: zones %v, sets %d", zones, len(sets))
	}
	if e.reg.Load().Zone("lb.test.") != nil {
		t.Errorf("DNS still answers for the deleted zone")
	}
	if status, _ = do(t, e.srv, "POST", "/v1/zones", `{"name":"empty.test"}`); status != 201 {
		t.Fatalf("create empty.test: %d", status)
	}
	if status, b = do(t, e.srv, "DELETE", "/v1/zones/empty.test", ""); status != http.StatusNoContent {
		t.Errorf("DELETE of an empty zone without force: %d %s", status, b)
	}
}

// loadZone creates zone with n single A sets through batches of changes.
func loadZone(t *testing.T, e *env, zone string, n int) {
	t.Helper()
	ctx := context.Background()
	if _, err := e.cl.CreateZone(ctx, client.ZoneRequest{Name: zone}); err != nil {
		t.Fatal(err)
	}
	const batchSize = 400 // within newEnv's body limit
	for start := 0; start < n; start += batchSize {
		var batch client.ChangeBatch
		for i := start; i < min(n, start+batchSize); i++ {
			batch.Changes = append(batch.Changes, client.Change{Action: "CREATE", RRSet: client.SetRequest{
				Name: fmt.Sprintf("h%05d", i), Type: "A", Values: []string{fmt.Sprintf("10.%d.%d.%d", i>>16, i>>8&255, i&255)}}})
		}
		if _, err := e.cl.Change(ctx, zone, batch); err != nil {
			t.Fatal(err)
		}
	}
}

// TestDeleteLargeZoneInChunks: a large zone is deleted in several small
// transactions, the zone first, so writes elsewhere wait for one chunk,
// not for the whole zone.
func TestDeleteLargeZoneInChunks(t *testing.T) {
	e := newEnv(t)
	loadZone(t, e, "big.test", 2500)
	rev0, _, _ := e.state(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := e.store.Watch(ctx, rev0)
	if status, b := do(t, e.srv, "DELETE", "/v1/zones/big.test?force=true", ""); status != http.StatusNoContent {
		t.Fatalf("DELETE ?force=true: %d %s", status, b)
	}
	perRev := map[int64]int{}
	var first store.Event
	for ev := range events {
		if first.Rev == 0 {
			first = ev
		}
		perRev[ev.Rev]++
		if ev.Kind == store.DeleteZone {
			break
		}
	}
	if first.Kind != store.PutZone || first.Zone.Name != "big.test." || !first.Zone.Deleting || perRev[first.Rev] != 1 {
		t.Errorf("first step of the delete: %v %+v (%d events); want the zone alone, marked", first.Kind, first.Zone, perRev[first.Rev])
	}
	for rev, n := range perRev {
		if n > registry.DeleteChunk+1 {
			t.Errorf("revision %d deleted %d sets; want at most %d per transaction", rev, n, registry.DeleteChunk)
		}
	}
	if len(perRev) < 3 {
		t.Errorf("the delete took %d transactions; want the zone's 2,500 sets in chunks", len(perRev))
	}
	if _, zones, sets := e.state(t); len(zones) != 1 || len(sets) != 2 {
		t.Errorf("after the delete: %d zones, %d sets; want lb.test with its 2", len(zones), len(sets))
	}
}

// TestCreateZoneHidingParentNames: a zone inside another is refused while
// the parent holds names in it (DNS would answer them from the new zone),
// naming them; once they are gone it is created, and the parent refuses
// names inside it.
func TestCreateZoneHidingParentNames(t *testing.T) {
	e := newEnv(t)
	for _, n := range []string{"d.sub", "a.sub", "sub", "c.x.sub", "subway"} {
		e.put(t, client.SetRequest{Name: n, Type: "TXT", Values: []string{n}})
	}
	rev0, _, _ := e.state(t)
	status, b := do(t, e.srv, "POST", "/v1/zones", `{"name":"sub.lb.test"}`)
	want := client.Error{Code: "zone_conflict", Message: "zone sub.lb.test.: zone would hide names of its parent zone: lb.test. holds 4 names in it " +
		"(a.sub.lb.test., c.x.sub.lb.test., d.sub.lb.test. and 1 more); delete them from lb.test. first (dnslb record rm lb.test. NAME TYPE), then create the zone and add them to it"}
	if got := errorOf(t, b); status != http.StatusConflict || got != want {
		t.Fatalf("create sub.lb.test: %d %+v\nwant 409 %+v", status, got, want)
	}
	if rev, _, _ := e.state(t); rev != rev0 {
		t.Errorf("the refused create wrote revision %d", rev)
	}
	for _, n := range []string{"d.sub", "a.sub", "sub", "c.x.sub"} {
		if status, b := do(t, e.srv, "DELETE", "/v1/zones/lb.test/rrsets/"+n+"/TXT", ""); status != 200 {
			t.Fatalf("delete %s: %d %s", n, status, b)
		}
	}
	if status, b = do(t, e.srv, "POST", "/v1/zones", `{"name":"sub.lb.test"}`); status != http.StatusCreated {
		t.Fatalf("create sub.lb.test once its names are gone: %d %s", status, b)
	}
	status, b = do(t, e.srv, "PUT", "/v1/zones/lb.test/rrsets", `{"name":"x.sub","type":"A","values":["127.0.0.1"]}`)
	want = client.Error{Code: "invalid_argument", Field: "name", Message: "x.sub.lb.test. is in zone sub.lb.test., which answers for it; write it to that zone"}
	if got := errorOf(t, b); status != 400 || got != want {
		t.Errorf("PUT x.sub into lb.test: %d %+v; want 400 %+v", status, got, want)
	}
}

// TestListPages: a listing is paged (default 1,000, at most 10,000) with
// a cursor, and the client follows the pages.
func TestListPages(t *testing.T) {
	e := newEnv(t)
	const n = client.MaxPageLimit + 1
	loadZone(t, e, "big.test", n)
	var page client.SetPage
	status, b := do(t, e.srv, "GET", "/v1/zones/big.test/rrsets", "")
	if err := json.Unmarshal(b, &page); err != nil || status != 200 || len(page.RRSets) != api.DefaultPageLimit || page.Next == "" {
		t.Fatalf("first page: %d, %d sets, next %q, %v", status, len(page.RRSets), page.Next, err)
	}
	status, b = do(t, e.srv, "GET", "/v1/zones/big.test/rrsets?limit=3&cursor="+page.Next, "")
	if err := json.Unmarshal(b, &page); err != nil || status != 200 || len(page.RRSets) != 3 || page.RRSets[0].Name != "h01000.big.test." {
		t.Fatalf("second page: %d %s", status, b)
	}
	all, err := e.cl.Sets(context.Background(), "big.test", "", "", "")
	if err != nil || len(all) != n {
		t.Fatalf("client.Sets: %d sets, %v; want %d", len(all), err, n)
	}
	for i, s := range all {
		if want := fmt.Sprintf("h%05d.big.test.", i); s.Name != want {
			t.Fatalf("set %d is %s; want %s", i, s.Name, want)
		}
	}
	status, b = do(t, e.srv, "GET", "/v1/zones/big.test/rrsets?type=A&limit=2&name=h00007", "")
	if err := json.Unmarshal(b, &page); err != nil || status != 200 || len(page.RRSets) != 1 || page.Next != "" {
		t.Errorf("filtered page: %d %s", status, b)
	}
	for q, field := range map[string]string{"limit=0": "limit", "limit=10001": "limit", "limit=x": "limit", "cursor=nope": "cursor", "page=2": "page"} {
		if status, b := do(t, e.srv, "GET", "/v1/zones/big.test/rrsets?"+q, ""); status != 400 || errorOf(t, b).Field != field {
			t.Errorf("?%s: %d %s; want 400 naming %s", q, status, b, field)
		}
	}
}
