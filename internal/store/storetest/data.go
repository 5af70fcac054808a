package storetest

import (
	"cmp"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/store"
)

var errBoom = errors.New("storetest: fn failed on purpose")

func testZones(t *testing.T, h *harness) {
	st := h.new(t)
	b, a := newZone("b.test."), newZone("a.test.")
	a.Policies = map[string]record.Policy{"www.a.test.": record.Multivalue}
	rev := put(t, st, b, a)
	diff(t, "Zones", []record.Zone{zoneAt(a, rev), zoneAt(b, rev)}, read(t, st).Zones)

	a.NS = []string{"ns9.a.test.", "ns8.a.test."}
	rev2 := put(t, st, a)
	got, err := getZone(t, st, "a.test.")
	if err != nil {
		t.Fatalf("Zone: %v", err)
	}
	diff(t, "replaced zone", zoneAt(a, rev2), got)
	if got, _ := getZone(t, st, "b.test."); got.Revision != rev {
		t.Errorf("untouched zone has revision %d, want %d", got.Revision, rev)
	}

	_, err = getZone(t, st, "missing.test.")
	wantErr(t, "Zone of a missing zone", err, store.ErrNotFound)
	_, err = st.Update(t.Context(), func(tx store.Tx) error { return tx.DeleteZone("missing.test.") })
	wantErr(t, "DeleteZone of a missing zone", err, store.ErrNotFound)
}

// setFixture is a zone with sets put in scrambled order, a sub-zone whose
// sets must never show up in the zone's, and the zone's sets in the order
// Sets must return them: by name, type and set id.
func setFixture() (items []any, want []record.Set) {
	www := "www." + zoneName
	want = []record.Set{
		newSet(zoneName, "api."+zoneName, record.TXT, "", "v=1"),
		fullSet(),
		newSet(zoneName, zoneName, record.MX, "", "10 mail.lb.test."),
		newSet(zoneName, www, record.A, "a", "127.0.1.1"),
		newSet(zoneName, www, record.A, "b", "127.0.1.2"),
		newSet(zoneName, www, record.AAAA, "a", "::1"),
		newSet(zoneName, "www2."+zoneName, record.A, "a", "127.0.2.1"),
	}
	sub := newSet("sub."+zoneName, "www.sub."+zoneName, record.A, "a", "127.0.3.1")
	items = []any{newZone(zoneName), newZone("sub." + zoneName), sub}
	for _, i := range []int{4, 6, 0, 3, 5, 2, 1} {
		items = append(items, want[i])
	}
	return items, want
}

func testSets(t *testing.T, h *harness) {
	st := h.new(t)
	items, want := setFixture()
	if !slices.IsSortedFunc(want, compareKeys) {
		t.Fatal("storetest: setFixture is not in Sets order")
	}
	rev := put(t, st, items...)
	for i := range want {
		want[i].Revision = rev
	}
	got := sets(t, st, zoneName, "")
	diff(t, "Sets of the zone", want, got)
	diff(t, "Sets of www", want[3:6], sets(t, st, zoneName, "www."+zoneName))
	diff(t, "Sets of a name without sets", []record.Set(nil), sets(t, st, zoneName, "none."+zoneName))

	s, err := getSet(t, st, want[1].Key)
	if err != nil {
		t.Fatalf("Set: %v", err)
	}
	diff(t, "Set", want[1], s)
	missing := want[3].Key
	missing.SetID = "nope"
	_, err = getSet(t, st, missing)
	wantErr(t, "Set of a missing set", err, store.ErrNotFound)
	testReplaceAndDelete(t, st, want[4])
}

func testReplaceAndDelete(t *testing.T, st store.Store, s record.Set) {
	s.Weight, s.Values = 0, []string{"127.0.9.9"}
	rev := put(t, st, s)
	got, err := getSet(t, st, s.Key)
	if err != nil {
		t.Fatalf("Set after replace: %v", err)
	}
	diff(t, "replaced set", setAt(s, rev), got)

	update(t, st, func(tx store.Tx) error { return tx.DeleteSet(s.Key) })
	_, err = getSet(t, st, s.Key)
	wantErr(t, "Set after DeleteSet", err, store.ErrNotFound)
	_, err = st.Update(t.Context(), func(tx store.Tx) error { return tx.DeleteSet(s.Key) })
	wantErr(t, "DeleteSet of a missing set", err, store.ErrNotFound)
}

func compareKeys(a, b record.Set) int {
	return cmp.Or(strings.Compare(a.Name, b.Name), cmp.Compare(a.Type, b.Type), strings.Compare(a.SetID, b.SetID))
}

func sets(t *testing.T, st store.Store, zone, name string) []record.Set {
	t.Helper()
	var got []record.Set
	_, err := st.View(t.Context(), func(tx store.ReadTx) error {
		var err error
		got, err = tx.Sets(zone, name)
		return err
	})
	if err != nil {
		t.Fatalf("Sets(%q, %q): %v", zone, name, err)
	}
	return got
}

// testCopies checks that a store shares no memory with its callers.
func testCopies(t *testing.T, h *harness) {
	st := h.new(t)
	z, s := newZone(zoneName), fullSet()
	rev := put(t, st, z, s)
	want := setAt(fullSet(), rev)
	s.Values[0], s.Check.Target = "127.9.9.9", "tcp://x:1"
	got, _ := getSet(t, st, s.Key)
	diff(t, "set after the caller changed what it put", want, got)
	got.Values[0], got.Drain.Keep = "127.8.8.8", false
	again, _ := getSet(t, st, s.Key)
	diff(t, "set after the caller changed what it read", want, again)
}

func testPutSetNeedsZone(t *testing.T, h *harness) {
	st := h.new(t)
	before := revision(t, st)
	s := newSet("nozone.test.", "www.nozone.test.", record.A, "a", "127.0.1.1")
	_, err := st.Update(t.Context(), func(tx store.Tx) error { return tx.PutSet(s) })
	wantErr(t, "PutSet without its zone", err, store.ErrNotFound)
	if err != nil && !strings.Contains(err.Error(), "nozone.test.") {
		t.Errorf("PutSet without its zone: error %q does not name the zone", err)
	}
	if got := read(t, st); got.Rev != before || len(got.Sets) != 0 {
		t.Errorf("after a failed PutSet: %+v, want revision %d and no sets", got, before)
	}
}

func testDeleteZone(t *testing.T, h *harness) {
	st := h.new(t)
	items, want := setFixture()
	other := newSet("other.test.", "www.other.test.", record.A, "a", "127.0.4.1")
	rev := put(t, st, append(items, newZone("other.test."), other)...)
	ch := st.Watch(t.Context(), rev)

	del := update(t, st, func(tx store.Tx) error { return tx.DeleteZone(zoneName) })
	diff(t, "the one event of DeleteZone", store.Event{Rev: del, Kind: store.DeleteZone, Zone: record.Zone{Name: zoneName}, Last: true}, recv(t, ch))
	_, err := getSet(t, st, want[0].Key)
	wantErr(t, "Set of a deleted zone", err, store.ErrNotFound)
	sub := items[2].(record.Set)
	diff(t, "sets left", []record.Set{setAt(other, rev), setAt(sub, rev)}, read(t, st).Sets)

	again := put(t, st, newZone(zoneName))
	if ev := recv(t, ch); ev.Rev != again || ev.Kind != store.PutZone {
		t.Errorf("event after DeleteZone = %+v, want the PutZone of revision %d", ev, again)
	}
	diff(t, "Sets of the zone created again", []record.Set(nil), sets(t, st, zoneName, ""))
}

func testAtomic(t *testing.T, h *harness) {
	st := h.new(t)
	before := put(t, st, newZone("keep.test."))
	ch := st.Watch(t.Context(), before)
	_, err := st.Update(t.Context(), func(tx store.Tx) error {
		if err := tx.PutZone(newZone(zoneName)); err != nil {
			return err
		}
		if err := tx.PutSet(newSet(zoneName, "www."+zoneName, record.A, "a", "127.0.1.1")); err != nil {
			return err
		}
		return errBoom
	})
	if err != errBoom {
		t.Errorf("Update returned %v, want fn's error unchanged", err)
	}
	_, err = st.Update(t.Context(), func(tx store.Tx) error {
		if err := tx.DeleteZone("keep.test."); err != nil {
			return err
		}
		return tx.DeleteSet(record.Key{Zone: "keep.test.", Name: "keep.test.", Type: record.A})
	})
	wantErr(t, "Update failing on a missing set", err, store.ErrNotFound)

	got := read(t, st)
	diff(t, "store after failed updates", snapshot{Rev: before, Zones: []record.Zone{zoneAt(newZone("keep.test."), before)}}, got)
	next := put(t, st, newZone("next.test."))
	if ev := recv(t, ch); ev.Rev != next || ev.Zone.Name != "next.test." || next != before+1 {
		t.Errorf("first event after failed updates = %+v (Update returned %d), want revision %d", ev, next, before+1)
	}
}

func testRevisions(t *testing.T, h *harness) {
	st := h.new(t)
	r0 := revision(t, st)
	z, s := newZone(zoneName), newSet(zoneName, "www."+zoneName, record.A, "a", "127.0.1.1")
	r1 := put(t, st, z)
	r2 := put(t, st, s)
	readOnly := update(t, st, func(tx store.Tx) error { _, err := tx.Zone(zoneName); return err })
	nothing := update(t, st, func(store.Tx) error { return nil })
	swallowed := update(t, st, func(tx store.Tx) error {
		_ = tx.DeleteSet(record.Key{Zone: zoneName, Name: zoneName, Type: record.A}) // ErrNotFound, ignored
		return nil
	})
	s.Weight = 20
	r3 := put(t, st, s)
	if got, want := []int64{r1, r2, readOnly, nothing, swallowed, r3}, []int64{r0 + 1, r0 + 2, r0 + 2, r0 + 2, r0 + 2, r0 + 3}; !slices.Equal(got, want) {
		t.Errorf("revisions %v, want %v (one per Update that writes)", got, want)
	}
	diff(t, "store", snapshot{Rev: r3, Zones: []record.Zone{zoneAt(z, r1)}, Sets: []record.Set{setAt(s, r3)}}, read(t, st))
}

func testReadYourWrites(t *testing.T, h *harness) {
	st := h.new(t)
	a := newSet(zoneName, "www."+zoneName, record.A, "a", "127.0.1.1")
	b := newSet(zoneName, "www."+zoneName, record.A, "b", "127.0.1.2")
	gone := newZone("gone.test.")
	var seen []string
	note := func(what string, ok bool) {
		if !ok {
			seen = append(seen, what)
		}
	}
	rev := update(t, st, func(tx store.Tx) error {
		for _, it := range []any{newZone(zoneName), gone, a, b} {
			if err := putItem(tx, it); err != nil {
				return err
			}
		}
		zones, _ := tx.Zones()
		note("Zones sees both new zones", len(zones) == 2)
		got, err := tx.Set(a.Key)
		note("Set sees the new set", err == nil && slices.Equal(got.Values, a.Values))
		if err := tx.DeleteSet(a.Key); err != nil {
			return err
		}
		_, err = tx.Set(a.Key)
		note("Set misses the deleted set", errors.Is(err, store.ErrNotFound))
		all, _ := tx.Sets(zoneName, "")
		note("Sets lists the one set left", len(all) == 1 && all[0].SetID == "b")
		if err := tx.DeleteZone(gone.Name); err != nil {
			return err
		}
		_, err = tx.Zone(gone.Name)
		note("Zone misses the deleted zone", errors.Is(err, store.ErrNotFound))
		return nil
	})
	if len(seen) > 0 {
		t.Errorf("inside a transaction, these failed: %s", strings.Join(seen, "; "))
	}
	diff(t, "store", snapshot{Rev: rev, Zones: []record.Zone{zoneAt(newZone(zoneName), rev)}, Sets: []record.Set{setAt(b, rev)}}, read(t, st))
}
