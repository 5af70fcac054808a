package cli

import (
	"bytes"
	"testing"
	"time"

	"github.com/dnslb/dnslb/internal/api/client"
	"github.com/dnslb/dnslb/internal/record"
)

// TestSetTable pins the table of `record ls`: the share the rules give
// now (0 for an expired set, marked when the name fails open), the share
// observed in the last minute, one state, and the restart grace apart
// from the lease.
func TestSetTable(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) *time.Time { t := now.Add(-d); return &t }
	share := func(f float64) *float64 { return &f }
	set := func(id string, weight int, addr string, lease time.Duration) record.Set {
		return record.Set{Key: record.Key{Zone: "lb.test.", Name: "www.lb.test.", Type: record.A, SetID: id},
			Weight: weight, TTL: 60, Values: []string{addr}, State: record.Active, Lease: record.Duration(lease)}
	}
	views := []client.SetView{
		{Set: set("a", 10, "127.0.1.1", 15*time.Second), Status: record.Status{Health: "down (agent)", Share: 0.25, FailOpen: true,
			ObservedShare: share(0.3), LeaseRemaining: record.Duration(15 * time.Second), LeaseGrace: record.Duration(14 * time.Second), LastServed: ago(2 * time.Second)}},
		{Set: set("b", 30, "127.0.1.2", 0), Status: record.Status{Health: "down (forced)", Share: 0.75, FailOpen: true, ObservedShare: share(0.7)}},
		{Set: set("c", 60, "127.0.1.3", 15*time.Second), Status: record.Status{Health: "unknown", Share: 0, ObservedShare: share(0), LastServed: ago(90 * time.Second)}},
		{Set: record.Set{Key: record.Key{Zone: "lb.test.", Name: "txt.lb.test.", Type: record.TXT}, TTL: 300, Values: []string{"hello"}, State: record.Active},
			Status: record.Status{Health: "unknown", Share: 1}},
	}
	views[2].State = record.Expired
	var out bytes.Buffer
	if err := writeSets(&out, "lb.test.", views, now); err != nil {
		t.Fatal(err)
	}
	want := `NAME  TYPE  SET-ID  WEIGHT  SHARE            OBSERVED  TTL  STATE    HEALTH         LEASE                       LAST-SERVED  VALUES
www   A     a       10      25.0% fail-open  30.0%     60   active   down (agent)   15s/15s +14s restart grace  2s ago       127.0.1.1
www   A     b       30      75.0% fail-open  70.0%     60   active   down (forced)  -                           -            127.0.1.2
www   A     c       60      0.0%             0.0%      60   expired  unknown        lapsed/15s                  1m30s ago    127.0.1.3
txt   TXT   -       -       -                -         300  active   unknown        -                           -            hello
`
	if out.String() != want {
		t.Errorf("table:\n%s\nwant:\n%s", out.String(), want)
	}
}

// TestStatusView pins `dnslb status`: a block per name, its alert in
// words, a draining set's countdown and a failing check's error.
func TestStatusView(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	safe, since := now.Add(42*time.Second), now.Add(-3*time.Minute)
	page := client.StatusPage{Now: now, Revision: 9, Page: 1, Pages: 1, Total: 1, Brake: record.BrakeStatus{State: "off"},
		Names: []client.NameStatus{{Zone: "lb.test.", Name: "www.lb.test.", Type: record.A, Policy: record.Weighted,
			Tier: "eligible sets with weight > 0, by weight", Alert: "Braked: the mass-expiry brake keeps 1 lapsed set(s) in answers.",
			Sets: []client.SetStatus{
				{SetID: "a", Values: []string{"127.0.1.1"}, Weight: 10, State: "active", Status: record.Status{Health: "up", Share: 1}},
				{SetID: "b", Values: []string{"127.0.1.2"}, Weight: 20, State: "active", Status: record.Status{Health: "down", HealthSince: &since, HealthError: "status 503"}},
				{SetID: "c", Values: []string{"127.0.1.3"}, Weight: 10, State: "draining", Status: record.Status{Health: "unknown", SafeAt: &safe}},
			}}}}
	var out bytes.Buffer
	if err := writeStatus(&out, page); err != nil {
		t.Fatal(err)
	}
	want := `names: 1, page 1 of 1, revision 9, 2026-12-01T12:00:00Z

www.lb.test. A (policy weighted): eligible sets with weight > 0, by weight
!! Braked: the mass-expiry brake keeps 1 lapsed set(s) in answers.
  SET-ID  WEIGHT  SHARE   OBSERVED  STATE                   HEALTH                     LEASE  LAST-SERVED  VALUES
  a       10      100.0%  -         active                  up                         -      -            127.0.1.1
  b       20      0.0%    -         active                  down 3m0s ago: status 503  -      -            127.0.1.2
  c       10      0.0%    -         draining (safe in 42s)  unknown                    -      -            127.0.1.3
`
	if out.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", out.String(), want)
	}
}
