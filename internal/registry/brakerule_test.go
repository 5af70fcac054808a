package registry

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/dnslb/dnslb/internal/record"
)

// TestBrakeRule runs the brake's rule (brake.go) over fleets where some
// instances stop renewing: the brake holds only when renewals across the
// whole server collapse, and never the sets of a name that still renews.
func TestBrakeRule(t *testing.T) {
	type fleet struct{ names, live, dead int } // per name
	for _, tc := range []struct {
		name      string
		fleets    []fleet
		brake     string // the brake's state once the dead lapsed
		deadHeld  int    // dead sets held in answers (the rest expired)
		extraLive int    // sets renewing on a name of their own (a sidecar)
	}{
		{"zone outage: one of two instances of every name dies", []fleet{{10, 1, 1}}, "off", 0, 0},
		{"one name dies whole, another renews", []fleet{{1, 0, 3}, {1, 2, 0}}, "off", 0, 0},
		{"3 dead beside 1 live", []fleet{{1, 1, 3}}, "off", 0, 0},
		{"the only lease dies", []fleet{{1, 0, 1}}, "off", 0, 0},
		{"both leases of a small server fall silent", []fleet{{1, 0, 2}}, "holding", 2, 0},
		{"server cut off", []fleet{{10, 0, 3}}, "holding", 30, 0},
		{"cut off but for a sidecar on its own name", []fleet{{10, 0, 3}}, "holding", 30, 1},
		{"cut off but for one instance of one name", []fleet{{1, 1, 2}, {10, 0, 3}}, "holding", 30, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, nil)
			var live, dead []record.Key
			add := func(name string, n int, into *[]record.Key) {
				for range n {
					id := fmt.Sprintf("s%d", len(live)+len(dead))
					s := leased(id, 15*time.Second)
					s.Name = name
					h.put(s)
					*into = append(*into, record.Key{Zone: "lb.test.", Name: name + ".lb.test.", Type: record.A, SetID: id})
				}
			}
			for fi, f := range tc.fleets {
				for n := range f.names {
					name := fmt.Sprintf("f%d-n%d", fi, n)
					add(name, f.live, &live)
					add(name, f.dead, &dead)
				}
			}
			add("sidecar", tc.extraLive, &live)
			for range 6 { // 30 s: the dead lapse at 15 s
				h.clock.advance(5 * time.Second)
				for _, k := range live {
					if _, err := h.reg.Renew(context.Background(), k, nil); err != nil {
						t.Fatal(err)
					}
				}
				h.tick()
			}
			held, expired := 0, 0
			h.reg.leases.mu.Lock()
			for _, k := range dead {
				l := h.reg.leases.byKey[k]
				switch {
				case l.held:
					held++
				case l.expired:
					expired++
				}
			}
			for _, k := range live {
				if l := h.reg.leases.byKey[k]; l.held || l.expired {
					t.Errorf("live set %s: held %v expired %v", k, l.held, l.expired)
				}
			}
			h.reg.leases.mu.Unlock()
			if b := h.reg.Brake(); b.State != tc.brake || held != tc.deadHeld || held+expired != len(dead) {
				t.Errorf("brake %s, %d of %d dead held, %d expired; want brake %s, %d held, the rest expired",
					b.State, held, len(dead), expired, tc.brake, tc.deadHeld)
			}
		})
	}
}
