package storetest

import (
	"testing"

	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/store"
)

// testPages checks that SetsPage and Keys walk the sets of a zone (or of
// one name) in Sets order, page by page, from any key, and never stray
// into a sub-zone.
func testPages(t *testing.T, h *harness) {
	st := h.new(t)
	items, want := setFixture()
	rev := put(t, st, items...)
	for i := range want {
		want[i].Revision = rev
	}
	for _, limit := range []int{1, 2, 3, len(want), len(want) + 1} {
		diff(t, "SetsPage walk", want, walkPages(t, st, zoneName, "", limit))
		diff(t, "Keys walk", keysOf(want), walkKeys(t, st, limit))
	}
	www := "www." + zoneName
	diff(t, "SetsPage walk of www", want[3:6], walkPages(t, st, zoneName, www, 2))
	diff(t, "SetsPage of all", want, page(t, st, zoneName, "", record.Key{}, 0))
	diff(t, "SetsPage after a missing key", want[4:], page(t, st, zoneName, "", record.Key{Name: www, Type: record.A, SetID: "aa"}, 0))
	diff(t, "SetsPage of www after a key before it", want[3:5], page(t, st, zoneName, www, want[0].Key, 2))
	diff(t, "SetsPage after the last", []record.Set(nil), page(t, st, zoneName, "", want[len(want)-1].Key, 0))
}

func keysOf(sets []record.Set) []record.Key {
	keys := make([]record.Key, len(sets))
	for i := range sets {
		keys[i] = sets[i].Key
	}
	return keys
}

func walkPages(t *testing.T, st store.Store, zone, name string, limit int) []record.Set {
	t.Helper()
	var all []record.Set
	var after record.Key
	for {
		p := page(t, st, zone, name, after, limit)
		if len(p) > limit {
			t.Fatalf("SetsPage(limit %d) returned %d sets", limit, len(p))
		}
		all = append(all, p...)
		if len(p) < limit {
			return all
		}
		after = p[len(p)-1].Key
	}
}

func page(t *testing.T, st store.Store, zone, name string, after record.Key, limit int) []record.Set {
	t.Helper()
	var got []record.Set
	_, err := st.View(t.Context(), func(tx store.ReadTx) (err error) {
		got, err = tx.SetsPage(zone, name, after, limit)
		return err
	})
	if err != nil {
		t.Fatalf("SetsPage(%q, %q, %v, %d): %v", zone, name, after, limit, err)
	}
	return got
}

func walkKeys(t *testing.T, st store.Store, limit int) []record.Key {
	t.Helper()
	var all []record.Key
	var after record.Key
	for {
		var p []record.Key
		_, err := st.View(t.Context(), func(tx store.ReadTx) (err error) {
			p, err = tx.Keys(zoneName, after, limit)
			return err
		})
		if err != nil {
			t.Fatalf("Keys: %v", err)
		}
		all = append(all, p...)
		if len(p) < limit {
			return all
		}
		after = p[len(p)-1]
	}
}
