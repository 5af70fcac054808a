package registry

import (
	"context"
	"testing"
	"time"
)

// TestReportedHealthWriteIsNoRenewal: the store write of an agent's
// reported health (reports) is a rewrite of the set by the server, not its
// owner's registration: it neither renews the lease nor brings back a set
// whose lease lapsed. The write lands off the renewal path, so it may land
// after the lease lapsed; a dead instance must stay out of answers.
func TestReportedHealthWriteIsNoRenewal(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.LeaseGrace = time.Hour })
	ctx := context.Background()
	h.put(leased("a", 15*time.Second))
	h.clock.advance(5 * time.Second)
	if err := writeReport(ctx, h.store, key("a"), true); err != nil {
		t.Fatal(err)
	}
	h.waitRev(h.revision())
	if st, _ := h.status("a"); st.LeaseRemaining.D() != 10*time.Second {
		t.Errorf("after the report was written: %v of the lease left, want 10s (no renewal)", st.LeaseRemaining)
	}
	h.clock.advance(11 * time.Second)
	h.tick()
	if st, _ := h.status("a"); st.State != "expired" || st.Eligible {
		t.Fatalf("a lapsed: %+v", st)
	}
	if err := writeReport(ctx, h.store, key("a"), false); err != nil {
		t.Fatal(err)
	}
	h.waitRev(h.revision())
	h.tick()
	if st, _ := h.status("a"); st.State != "expired" || st.Eligible {
		t.Errorf("the report's write revived lapsed set a: %+v", st)
	}
	if h.answered("127.0.1.1") {
		t.Error("lapsed set a is answered after its report was written")
	}
}
