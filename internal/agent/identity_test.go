package agent

import (
	"context"
	"os"
	"testing"
	"time"
)

func TestStaticIdentity(t *testing.T) {
	ctx := context.Background()
	id, err := Static{SetID: "i-1", Address: "2001:db8::1"}.Identity(ctx)
	if err != nil || id.SetID != "i-1" || id.Address.String() != "2001:db8::1" {
		t.Errorf("static = %+v, %v", id, err)
	}
	for _, bad := range []Static{{Address: "127.0.0.1"}, {SetID: "x", Address: "nope"}} {
		if _, err := bad.Identity(ctx); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}

func TestHostIdentity(t *testing.T) {
	name, _ := os.Hostname()
	id, err := Host{Address: "127.0.0.9"}.Identity(context.Background())
	if err != nil || id.SetID != name || id.Address.String() != "127.0.0.9" {
		t.Errorf("host with --address = %+v, %v", id, err)
	}
	// Without --address: the primary non-loopback address, if the machine
	// has one (a bare network namespace has none, and says so).
	id, err = Host{}.Identity(context.Background())
	if err == nil && (id.Address.IsLoopback() || !id.Address.IsGlobalUnicast()) {
		t.Errorf("host picked %s", id.Address)
	}
	if err != nil {
		t.Logf("no primary address here: %v", err)
	}
}

// TestBackoff: the n-th delay lies between half and all of
// min(Min × 2^n, Max).
func TestBackoff(t *testing.T) {
	b := backoff{cfg: Backoff{Min: 200 * time.Millisecond, Max: 10 * time.Second}}
	for n := range 12 {
		ceil := min(b.cfg.Min<<n, b.cfg.Max)
		if d := b.next(); d < ceil/2 || d > ceil {
			t.Fatalf("retry %d after %s, want within [%s, %s]", n+1, d, ceil/2, ceil)
		}
	}
}
