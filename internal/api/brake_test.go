package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dnslb/dnslb/internal/api"
	"github.com/dnslb/dnslb/internal/api/client"
	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/registry"
	"github.com/dnslb/dnslb/internal/store/boltstore"
)

// TestBrakeAPI: with every renewal stopped the brake holds the lapsed
// sets; GET /v1/brake, /readyz and the set listing say so; POST
// /v1/brake/release ends it at once.
func TestBrakeAPI(t *testing.T) {
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "dnslb.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var now atomic.Int64
	now.Store(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC).UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()).UTC() }
	reg := registry.New(st, registry.Options{Now: clock, Manual: true})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- reg.Run(ctx) }()
	srv := httptest.NewServer(api.New(api.Config{Registry: reg}))
	defer func() {
		srv.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("registry: %v", err)
		}
		st.Close()
	}()
	<-reg.Ready()
	cl, _ := client.New(srv.URL, srv.Client())
	if _, err := cl.CreateZone(ctx, client.ZoneRequest{Name: "lb.test"}); err != nil {
		t.Fatal(err)
	}
	lease := client.SetRequest{Name: "www", Type: "A", Weight: ptr(10), TTL: ptr[int64](60), Lease: ptr(record.Duration(15 * time.Second))}
	for _, id := range []string{"a", "b"} {
		req := lease
		req.SetID, req.Values = id, []string{"127.0.1.1"}
		if _, err := cl.PutSet(ctx, "lb.test", req); err != nil {
			t.Fatal(err)
		}
	}
	if b, err := cl.Brake(ctx); err != nil || b.State != "off" || b.Leases != 2 {
		t.Fatalf("brake at rest: %+v, %v", b, err)
	}
	now.Add(int64(16 * time.Second)) // nobody renewed
	if err := reg.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	b, err := cl.Brake(ctx)
	if err != nil || b.State != "holding" || b.Held != 2 || b.Until == nil {
		t.Fatalf("brake with every renewal stopped: %+v, %v", b, err)
	}
	resp, err := srv.Client().Get(srv.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	var ready struct {
		Status string `json:"status"`
		Brake  *struct {
			State string `json:"state"`
			Held  int    `json:"held"`
		} `json:"brake"`
	}
	err = json.NewDecoder(resp.Body).Decode(&ready)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || ready.Brake == nil || ready.Brake.State != "holding" || ready.Brake.Held != 2 {
		t.Errorf("/readyz while the brake holds: %d %+v %v", resp.StatusCode, ready, err)
	}
	views, err := cl.Sets(ctx, "lb.test", "www", "A", "")
	if err != nil || len(views) != 2 || !views[0].Status.Braked || views[0].Status.BrakedUntil == nil || !views[0].Status.Eligible {
		t.Fatalf("listing while the brake holds: %+v, %v", views, err)
	}
	b, err = cl.ReleaseBrake(ctx)
	if err != nil || b.State != "released" || b.Held != 0 {
		t.Fatalf("release: %+v, %v", b, err)
	}
	views, _ = cl.Sets(ctx, "lb.test", "www", "A", "")
	for _, v := range views {
		if v.State != "expired" || v.Status.Braked || v.Status.Eligible { // one state: the set's (issue 10 §5)
			t.Errorf("%s after the release: %+v", v.SetID, v.Status)
		}
	}
}
