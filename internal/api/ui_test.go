package api_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dnslb/dnslb/internal/api/client"
)

// TestStatusTenThousandSets: with 10,000 sets (100 names of 100), a page
// of the status view reads only its own names: it answers in well under
// the page's poll interval, and small.
func TestStatusTenThousandSets(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for n := range 100 { // a batch per name (the test's API takes 64 KiB bodies)
		var batch client.ChangeBatch
		for i := range 100 {
			name := fmt.Sprintf("pool%02d", n)
			batch.Changes = append(batch.Changes, client.Change{Action: "UPSERT", RRSet: client.SetRequest{Name: name, Type: "A",
				SetID: fmt.Sprintf("i-%03d", i%100), Weight: ptr(10), TTL: ptr[int64](60), Values: []string{fmt.Sprintf("127.0.%d.%d", n+1, i+1)}}})
		}
		if _, err := e.cl.Change(ctx, "lb.test", batch); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	page, err := e.cl.Status(ctx, client.StatusQuery{Name: "pool", Page: 3, Chart: true})
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if page.Total != 100 || page.Pages != 5 || len(page.Names) != 20 || page.Names[0].Name != "pool40.lb.test." || len(page.Names[0].Sets) != 100 {
		t.Fatalf("page 3: total %d, pages %d, %d names, first %+v", page.Total, page.Pages, len(page.Names), page.Names[0].Name)
	}
	req, _ := http.NewRequest("GET", e.srv.URL+"/v1/status?q=pool&per_page=1", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := e.srv.Client().Transport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	t.Logf("10,000 sets: a page of 20 names (2,000 sets) in %v; one name of 100 sets is %d bytes gzipped", took.Round(time.Millisecond), len(body))
	if took > 2*time.Second || resp.Header.Get("Content-Encoding") != "gzip" || len(body) > 20<<10 {
		t.Errorf("a page took %v; one name: %d bytes, encoding %q", took, len(body), resp.Header.Get("Content-Encoding"))
	}
	_, err = e.cl.Status(ctx, client.StatusQuery{PerPage: 500})
	if err == nil || !strings.Contains(err.Error(), "per_page: \"500\" is not a page size; allowed: 1..200 (default 20)") {
		t.Errorf("per_page 500: %v", err)
	}
}
