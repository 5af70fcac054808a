package agent

import (
	"context"
	"net/netip"
	"testing"
	"time"
)

// TestDeregisterAfterSecondSignal: a drain cut short by a second signal
// (its ctx already over) still deletes the set once before it gives up;
// only the retries give way to the signal. Before, a timer that fired at
// once raced with the ended ctx and the delete was often never sent.
func TestDeregisterAfterSecondSignal(t *testing.T) {
	cl := apiWithHeartbeatsAt(t, netip.MustParseAddrPort("127.0.0.1:9"))
	for i := range 20 {
		a := testAgent(cl)
		if err := a.register(context.Background()); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if !a.deregisterUntil(ctx, time.Now().Add(time.Minute)) {
			t.Fatalf("try %d: the set was not deleted", i)
		}
		if sets, err := cl.Sets(context.Background(), "lb.test", "www", "A", "i-1"); err != nil || len(sets) != 0 {
			t.Fatalf("try %d: sets %v, %v; want none", i, sets, err)
		}
	}
}
