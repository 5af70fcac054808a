// Command extdns runs external-dns's own reconciliation against dnslb's
// webhook: its webhook provider client, its noop or txt registry and its
// planner with the sync policy, as its controller's RunOnce does, twice
// (the second round must find nothing to change), with one weighted
// endpoint (set identifier, aws/weight) as the desired state.
//
// It is not built by go test (external-dns's module graph is large, and
// the whole external-dns binary does not build from the module proxy: a
// pinned github.com/openshift/api version is refused there). By hand:
//
//	git clone https://github.com/kubernetes-sigs/external-dns ../src   # built at 2bf1bf8af2b7
//	cp ../src/go.sum . && GOFLAGS=-mod=mod go build -o /tmp/extdns .
//	dnslb serve --zone lb.test --external-dns-webhook 127.0.0.1:8888 &
//	/tmp/extdns http://127.0.0.1:8888/owner/cluster-a cluster-a noop cluster-a 127.0.0.71 10
//	/tmp/extdns http://127.0.0.1:8888/owner/cluster-b cluster-b txt cluster-b 127.0.0.72 30
//	/tmp/extdns http://127.0.0.1:8888/owner/cluster-a cluster-a noop cluster-a 127.0.0.71 10 delete
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"sigs.k8s.io/external-dns/endpoint"
	"sigs.k8s.io/external-dns/pkg/apis/externaldns"
	"sigs.k8s.io/external-dns/plan"
	"sigs.k8s.io/external-dns/provider/webhook"
	"sigs.k8s.io/external-dns/registry"
	"sigs.k8s.io/external-dns/registry/noop"
	"sigs.k8s.io/external-dns/registry/txt"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "driver:", err)
		os.Exit(1)
	}
}

// run URL OWNER KIND(noop|txt) SETID IP WEIGHT [delete]
func run(a []string) error {
	url, owner, kind, setID, ip, weight := a[0], a[1], a[2], a[3], a[4], a[5]
	ctx := context.Background()
	cfg := &externaldns.Config{WebhookProviderURL: url, WebhookProviderReadTimeout: 5 * time.Second,
		WebhookProviderWriteTimeout: 10 * time.Second, TXTOwnerID: owner, TXTPrefix: "", ManagedDNSRecordTypes: []string{"A", "AAAA", "CNAME"}}
	p, err := webhook.New(ctx, cfg, nil)
	if err != nil {
		return err
	}
	var reg registry.Registry
	if kind == "txt" {
		reg, err = txt.New(cfg, p)
	} else {
		reg, err = noop.New(cfg, p)
	}
	if err != nil {
		return err
	}
	desired := []*endpoint.Endpoint{endpoint.NewEndpointWithTTL("www.lb.test", "A", 60, ip).
		WithSetIdentifier(setID).WithProviderSpecific("aws/weight", weight)}
	if len(a) > 6 && a[6] == "delete" {
		desired = nil
	}
	for round := 1; round <= 2; round++ {
		current, err := reg.Records(ctx)
		if err != nil {
			return fmt.Errorf("records: %w", err)
		}
		eps, err := reg.AdjustEndpoints(desired)
		if err != nil {
			return fmt.Errorf("adjust: %w", err)
		}
		pl := (&plan.Plan{Policies: []plan.Policy{&plan.SyncPolicy{}}, Current: current, Desired: eps,
			DomainFilter: endpoint.MatchAllDomainFilters{reg.GetDomainFilter()}, ManagedRecords: cfg.ManagedDNSRecordTypes,
			OwnerID: reg.OwnerID()}).Calculate()
		c := pl.Changes
		fmt.Printf("round %d: current %d, create %d, updateNew %d, delete %d\n", round, len(current), len(c.Create), len(c.UpdateNew), len(c.Delete))
		if c.HasChanges() {
			if err := reg.ApplyChanges(ctx, c); err != nil {
				return fmt.Errorf("apply: %w", err)
			}
		}
	}
	return nil
}
