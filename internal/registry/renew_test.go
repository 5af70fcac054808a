package registry

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/store"
)

// TestRenewFollowsTheStore: renewals read a set's lease from memory, which
// must follow every change to the set: registered, lease dropped, deleted.
func TestRenewFollowsTheStore(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	renew := func() (record.LeaseStatus, error) {
		return h.reg.Renew(ctx, record.Key{Zone: "lb.test", Name: "www", Type: record.A, SetID: "a"}, nil)
	}
	if _, err := renew(); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("renew of an unknown set: %v, want ErrNotFound", err)
	}
	h.put(leased("a", 15*time.Second))
	st, err := renew()
	if err != nil || st.Lease != record.Duration(15*time.Second) || st.State != "active" || st.Key != key("a") {
		t.Fatalf("renew of a leased set: %+v, %v", st, err)
	}
	h.put(leased("a", 30*time.Second))
	if st, err := renew(); err != nil || st.Lease != record.Duration(30*time.Second) {
		t.Fatalf("renew after the lease changed to 30s: %+v, %v", st, err)
	}
	h.put(wset("a", 10, "127.0.1.1")) // no lease any more
	var fe *record.FieldError
	if _, err := renew(); !errors.As(err, &fe) || fe.Field != "lease" {
		t.Fatalf("renew of a set without a lease: %v, want a lease field error", err)
	}
	h.put(leased("a", 15*time.Second))
	if _, err := h.reg.Apply(ctx, "lb.test", []Change{{Action: Delete, Set: wset("a", 0, "")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := renew(); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("renew of a deleted set: %v, want ErrNotFound", err)
	}
}
