package registry

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// TestBrakeSparesDeadNeighbours is the scenario of issue 10: three sets
// with a 3 s lease that never renew beside one live agent renewing the
// same name every second. The live set proves the network works: the dead
// leave answers within the lease plus one lifecycle pass, and the brake
// stays off.
func TestBrakeSparesDeadNeighbours(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	for i, id := range []string{"a", "b", "c", "live"} {
		s := leased(id, 3*time.Second)
		s.Values = []string{fmt.Sprintf("127.0.1.%d", i+1)}
		h.put(s)
	}
	start := h.clock.Now()
	for h.clock.Now().Sub(start) < 4*time.Second { // lease + one pass
		h.clock.advance(time.Second)
		if _, err := h.reg.Renew(ctx, key("live"), nil); err != nil {
			t.Fatal(err)
		}
		h.tick()
	}
	for _, id := range []string{"a", "b", "c"} {
		if st, _ := h.status(id); st.State != "expired" || st.Eligible || st.Braked {
			t.Errorf("dead set %s, %s after its last renewal: %+v; want expired", id, h.clock.Now().Sub(start), st)
		}
	}
	for i := range 3 {
		if addr := fmt.Sprintf("127.0.1.%d", i+1); h.answered(addr) {
			t.Errorf("dead %s still answered", addr)
		}
	}
	if !h.answered("127.0.1.4") {
		t.Error("the live set is not answered")
	}
	if st, _ := h.status("live"); st.State != "active" || st.Braked {
		t.Errorf("live set: %+v", st)
	}
}
