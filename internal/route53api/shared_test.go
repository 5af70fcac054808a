package route53api_test

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/dnslb/dnslb/internal/etcdtest"
	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/registry"
	"github.com/dnslb/dnslb/internal/route53api"
	"github.com/dnslb/dnslb/internal/route53api/r53test"
	"github.com/dnslb/dnslb/internal/store"
	"github.com/dnslb/dnslb/internal/store/boltstore"
	"github.com/dnslb/dnslb/internal/store/etcdstore"
)

// sharedStore is one bbolt store for several servers, closed after them.
func sharedStore(t *testing.T) store.Store {
	t.Helper()
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "dnslb.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() }) // registered first: runs after the servers stop
	return st
}

// Two servers over one state: a check created through one is read,
// tagged, attached by id, updated and deleted through the other, and its
// caller reference is taken on both. Once over one bbolt store, and once
// as a cluster has them: each server with its own etcdstore and client
// on one real etcd.
func TestHealthChecksSharedByServers(t *testing.T) {
	t.Run("bbolt", func(t *testing.T) {
		st := sharedStore(t)
		healthChecksShared(t, st, st)
	})
	t.Run("etcd", func(t *testing.T) {
		ec := etcdtest.Start(t, 1)
		var sts [2]store.Store
		for i := range sts {
			st, err := etcdstore.New(etcdstore.Options{Client: ec.Client(t), Prefix: "/r53/"})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() }) // registered first: runs after the servers stop
			sts[i] = st
		}
		healthChecksShared(t, sts[0], sts[1])
	})
}

func healthChecksShared(t *testing.T, st, other store.Store) {
	a := r53test.Start(t, r53test.Options{Store: st, Registry: loopbackChecks})
	b := r53test.Start(t, r53test.Options{Store: other, Registry: loopbackChecks})
	ca, cb, ctx := adminClient(a), adminClient(b), context.Background()
	tcp := &types.HealthCheckConfig{Type: types.HealthCheckTypeTcp, Port: aws.Int32(8080)}
	hc, err := ca.CreateHealthCheck(ctx, &route53.CreateHealthCheckInput{CallerReference: aws.String("hc1"), HealthCheckConfig: tcp})
	if err != nil {
		t.Fatal(err)
	}
	id := hc.HealthCheck.Id
	if got, err := cb.GetHealthCheck(ctx, &route53.GetHealthCheckInput{HealthCheckId: id}); err != nil || aws.ToInt32(got.HealthCheck.HealthCheckConfig.Port) != 8080 {
		t.Fatalf("GetHealthCheck through the other server = %+v, %v", got, err)
	}
	if _, err := cb.CreateHealthCheck(ctx, &route53.CreateHealthCheckInput{CallerReference: aws.String("hc1"), HealthCheckConfig: tcp}); apiCode(err) != "HealthCheckAlreadyExists" {
		t.Errorf("same caller reference through the other server: %v; want HealthCheckAlreadyExists", err)
	}
	if list, err := cb.ListHealthChecks(ctx, &route53.ListHealthChecksInput{}); err != nil || len(list.HealthChecks) != 1 {
		t.Errorf("ListHealthChecks through the other server = %+v, %v; want the one check", list, err)
	}
	_, err = cb.ChangeTagsForResource(ctx, &route53.ChangeTagsForResourceInput{ResourceType: types.TagResourceTypeHealthcheck, ResourceId: id,
		AddTags: []types.Tag{{Key: aws.String("team"), Value: aws.String("web")}}})
	if err != nil {
		t.Fatal(err)
	}
	if tags, err := ca.ListTagsForResource(ctx, &route53.ListTagsForResourceInput{ResourceType: types.TagResourceTypeHealthcheck, ResourceId: id}); err != nil || len(tags.ResourceTagSet.Tags) != 1 {
		t.Errorf("tags through the first server = %+v, %v", tags, err)
	}

	zid := aws.ToString(createZone(t, ca, "example.com").Id)
	c1 := weighted(types.ChangeActionCreate, "www.example.com", "i-1", 10, 60, "127.0.9.1")
	c2 := weighted(types.ChangeActionCreate, "www.example.com", "i-2", 10, 60, "127.0.9.2")
	c1.ResourceRecordSet.HealthCheckId, c2.ResourceRecordSet.HealthCheckId = id, id
	if _, err := change(t, cb, zid, c1, c2); err != nil {
		t.Fatalf("attaching the check by id through the other server: %v", err)
	}
	keys := []record.Key{{Zone: "example.com.", Name: "www.example.com.", Type: record.A, SetID: "i-1"},
		{Zone: "example.com.", Name: "www.example.com.", Type: record.A, SetID: "i-2"}}
	wantChecks(t, a.Registry, keys, "tcp://:8080")

	from, _ := a.Registry.Revision(ctx)
	up, err := cb.UpdateHealthCheck(ctx, &route53.UpdateHealthCheckInput{HealthCheckId: id, HealthCheckVersion: aws.Int64(1), Port: aws.Int32(9090)})
	if err != nil || aws.ToInt64(up.HealthCheck.HealthCheckVersion) != 2 {
		t.Fatalf("UpdateHealthCheck through the other server = %+v, %v", up, err)
	}
	if got, err := ca.GetHealthCheck(ctx, &route53.GetHealthCheckInput{HealthCheckId: id}); err != nil || aws.ToInt64(got.HealthCheck.HealthCheckVersion) != 2 {
		t.Fatalf("GetHealthCheck after the update = %+v, %v; want version 2", got, err)
	}
	wantOneRevision(t, st, from, keys, "tcp://:9090")
	wantChecks(t, a.Registry, keys, "tcp://:9090")

	from, _ = a.Registry.Revision(ctx)
	if _, err := ca.DeleteHealthCheck(ctx, &route53.DeleteHealthCheckInput{HealthCheckId: id}); err != nil {
		t.Fatal(err)
	}
	if _, err := cb.GetHealthCheck(ctx, &route53.GetHealthCheckInput{HealthCheckId: id}); apiCode(err) != "NoSuchHealthCheck" {
		t.Errorf("GetHealthCheck of a deleted check through the other server: %v; want NoSuchHealthCheck", err)
	}
	wantOneRevision(t, st, from, keys, "")
}

// A refused update changes neither the check nor its sets.
func TestUpdateHealthCheckRefusedWritesNothing(t *testing.T) {
	srv := r53test.Start(t, r53test.Options{Registry: loopbackChecks})
	cl, ctx := adminClient(srv), context.Background()
	hc, err := cl.CreateHealthCheck(ctx, &route53.CreateHealthCheckInput{CallerReference: aws.String("hc1"),
		HealthCheckConfig: &types.HealthCheckConfig{Type: types.HealthCheckTypeTcp, Port: aws.Int32(8080)}})
	if err != nil {
		t.Fatal(err)
	}
	zid := aws.ToString(createZone(t, cl, "example.com").Id)
	c := weighted(types.ChangeActionCreate, "www.example.com", "i-1", 10, 60, "127.0.9.1")
	c.ResourceRecordSet.HealthCheckId = hc.HealthCheck.Id
	if _, err := change(t, cl, zid, c); err != nil {
		t.Fatal(err)
	}
	before, _ := srv.Registry.Revision(ctx)
	if _, err := cl.UpdateHealthCheck(ctx, &route53.UpdateHealthCheckInput{HealthCheckId: hc.HealthCheck.Id, Port: aws.Int32(9090),
		FailureThreshold: aws.Int32(11)}); apiCode(err) != "InvalidInput" {
		t.Fatalf("update with FailureThreshold 11: %v; want InvalidInput", err)
	}
	if after, _ := srv.Registry.Revision(ctx); after != before {
		t.Errorf("a refused update moved the revision from %d to %d", before, after)
	}
	got, err := cl.GetHealthCheck(ctx, &route53.GetHealthCheckInput{HealthCheckId: hc.HealthCheck.Id})
	if err != nil || aws.ToInt64(got.HealthCheck.HealthCheckVersion) != 1 || aws.ToInt32(got.HealthCheck.HealthCheckConfig.Port) != 8080 {
		t.Errorf("check after a refused update = %+v, %v; want version 1, port 8080", got, err)
	}
}

// wantChecks fails unless every set of keys has a check with target (none
// when target is empty).
func wantChecks(t *testing.T, reg *registry.Registry, keys []record.Key, target string) {
	t.Helper()
	for _, k := range keys {
		set, err := reg.Set(context.Background(), k)
		switch {
		case err != nil:
			t.Fatalf("set %s: %v", k, err)
		case target == "" && set.Check != nil:
			t.Errorf("set %s has check %+v, want none", k, set.Check)
		case target != "" && (set.Check == nil || set.Check.Target != target):
			t.Errorf("check of %s = %+v, want target %s", k, set.Check, target)
		}
	}
}

// wantOneRevision fails unless the first revision after from rewrote
// every set of keys (and only them) with a check of target: the check and
// its sets change together.
func wantOneRevision(t *testing.T, st store.Store, from int64, keys []record.Key, target string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var got []store.Event
	for ev := range st.Watch(ctx, from) {
		got = append(got, ev)
		if ev.Last {
			break
		}
	}
	if len(got) != len(keys) {
		t.Fatalf("the first revision after %d has %d events, want %d put-sets: %+v", from, len(got), len(keys), got)
	}
	for i, ev := range got {
		s := ev.Set
		ok := ev.Kind == store.PutSet && s.Key == keys[i] && (target == "" && s.Check == nil || s.Check != nil && s.Check.Target == target)
		if !ok {
			t.Errorf("event %d of revision %d = %s %s check %+v; want put-set %s with check %q", i, ev.Rev, ev.Kind, s.Key, s.Check, keys[i], target)
		}
	}
}

// A file of checks kept by an earlier version is moved into the store
// once, and the file renamed; the checks then serve every server.
func TestImportHealthChecks(t *testing.T) {
	st := sharedStore(t)
	srv := r53test.Start(t, r53test.Options{Store: st})
	dir := t.TempDir()
	path := filepath.Join(dir, "route53-healthchecks.json")
	port, interval, threshold, no := 443, 30, 3, false
	old := []map[string]any{{"id": "0f1e2d3c-0000-4000-8000-000000000001", "caller_reference": "old-1", "version": 4,
		"config": map[string]any{"type": "HTTPS", "port": port, "resource_path": "/health", "request_interval": interval,
			"failure_threshold": threshold, "measure_latency": no, "inverted": no, "disabled": no, "enable_sni": true},
		"tags": map[string]string{"team": "web"}}}
	data, _ := json.Marshal(old)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	n, err := route53api.ImportHealthChecks(ctx, srv.Registry, path, slog.New(slog.DiscardHandler))
	if err != nil || n != 1 {
		t.Fatalf("ImportHealthChecks = %d, %v; want 1", n, err)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the file is still there after the import: %v", err)
	}
	if _, err := os.Stat(path + ".imported"); err != nil {
		t.Errorf("no .imported file: %v", err)
	}
	other := r53test.Start(t, r53test.Options{Store: st})
	cl := adminClient(other)
	got, err := cl.GetHealthCheck(ctx, &route53.GetHealthCheckInput{HealthCheckId: aws.String("0f1e2d3c-0000-4000-8000-000000000001")})
	if err != nil || aws.ToInt64(got.HealthCheck.HealthCheckVersion) != 4 || aws.ToString(got.HealthCheck.CallerReference) != "old-1" ||
		aws.ToString(got.HealthCheck.HealthCheckConfig.ResourcePath) != "/health" {
		t.Fatalf("imported check = %+v, %v", got, err)
	}
	if _, err := cl.CreateHealthCheck(ctx, &route53.CreateHealthCheckInput{CallerReference: aws.String("old-1"),
		HealthCheckConfig: &types.HealthCheckConfig{Type: types.HealthCheckTypeTcp, Port: aws.Int32(8080)}}); apiCode(err) != "HealthCheckAlreadyExists" {
		t.Errorf("caller reference of an imported check: %v; want HealthCheckAlreadyExists", err)
	}
	if n, err := route53api.ImportHealthChecks(ctx, srv.Registry, path, slog.New(slog.DiscardHandler)); n != 0 || err != nil {
		t.Errorf("second ImportHealthChecks = %d, %v; want nothing to do", n, err)
	}
}
