package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/store"
)

// RunJournal checks an implementation of store.Journal (the optional
// history of transitions), with open and reopen as for Run. It fails when
// the store's transactions do not implement store.Journal: call it only
// for stores that mean to.
func RunJournal(t *testing.T, open func(t *testing.T) store.Store, reopen func(t *testing.T, old store.Store) store.Store) {
	h := &harness{open: open, reopen: reopen}
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, *harness)
	}{
		{"RidesWithTheChange", testJournalAtomic},
		{"Bounded", testJournalBounded},
		{"PerName", testJournalPerName},
		{"SurvivesRestart", testJournalPersists},
		{"DeleteZoneDropsIt", testJournalDeleteZone},
		{"ReadOnlyCannotNote", testJournalReadOnly},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, h)
		})
	}
}

func journalOf(t *testing.T, tx any) store.Journal {
	t.Helper()
	j, ok := tx.(store.Journal)
	if !ok {
		t.Fatalf("%T does not implement store.Journal", tx)
	}
	return j
}

func transition(name, id string, ev record.Event, detail string) record.Transition {
	return record.Transition{At: created, Key: record.Key{Zone: zoneName, Name: name, Type: record.A, SetID: id},
		Event: ev, Detail: detail, By: "ops"}
}

// history reads the journal of name.
func history(t *testing.T, st store.Store, name string) []record.Transition {
	t.Helper()
	var out []record.Transition
	_, err := st.View(t.Context(), func(tx store.ReadTx) (err error) {
		out, err = journalOf(t, tx).History(zoneName, name)
		return err
	})
	if err != nil {
		t.Fatalf("History: %v", err)
	}
	return out
}

// note notes trs in one transaction, after putting set when not nil.
func note(t *testing.T, st store.Store, set *record.Set, trs ...record.Transition) int64 {
	t.Helper()
	return update(t, st, func(tx store.Tx) error {
		if set != nil {
			if err := tx.PutSet(*set); err != nil {
				return err
			}
		}
		for _, tr := range trs {
			if err := journalOf(t, tx).Note(tr); err != nil {
				return err
			}
		}
		return nil
	})
}

// testJournalAtomic: an entry commits with its change and carries its
// revision; a failed Update keeps neither; an entry alone makes no
// revision and carries the current one.
func testJournalAtomic(t *testing.T, h *harness) {
	st := h.new(t)
	rev0 := put(t, st, newZone(zoneName))
	set := newSet(zoneName, "www."+zoneName, record.A, "a", "192.0.2.1")
	rev := note(t, st, &set, transition("www."+zoneName, "a", record.EventRegistered, ""))
	if rev != rev0+1 {
		t.Fatalf("revision %d, want %d", rev, rev0+1)
	}
	boom := errors.New("boom")
	_, err := st.Update(t.Context(), func(tx store.Tx) error {
		if err := journalOf(t, tx).Note(transition("www."+zoneName, "a", record.EventDeleted, "")); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update: %v, want boom", err)
	}
	if got := note(t, st, nil, transition("www."+zoneName, "a", record.EventHealthDown, "refused")); got != rev {
		t.Fatalf("an entry alone made revision %d, want %d (none)", got, rev)
	}
	want := []record.Transition{transition("www."+zoneName, "a", record.EventRegistered, ""),
		transition("www."+zoneName, "a", record.EventHealthDown, "refused")}
	want[0].Revision, want[1].Revision = rev, rev
	diff(t, "history", want, history(t, st, "www."+zoneName))
}

// testJournalBounded: a name keeps its newest HistoryLimit entries.
func testJournalBounded(t *testing.T, h *harness) {
	st := h.new(t)
	put(t, st, newZone(zoneName))
	n := store.HistoryLimit + 25
	for i := range n {
		note(t, st, nil, transition("www."+zoneName, "a", record.EventUpdated, fmt.Sprint(i)))
	}
	got := history(t, st, "www."+zoneName)
	if len(got) != store.HistoryLimit || got[0].Detail != fmt.Sprint(n-store.HistoryLimit) || got[len(got)-1].Detail != fmt.Sprint(n-1) {
		t.Fatalf("kept %d entries, %v .. %v; want the last %d", len(got), got[0].Detail, got[len(got)-1].Detail, store.HistoryLimit)
	}
}

// testJournalPerName: names have their own histories; one with none reads
// as empty.
func testJournalPerName(t *testing.T, h *harness) {
	st := h.new(t)
	put(t, st, newZone(zoneName))
	note(t, st, nil, transition("a."+zoneName, "x", record.EventRegistered, ""),
		transition("b."+zoneName, "y", record.EventRegistered, ""))
	if got := history(t, st, "a."+zoneName); len(got) != 1 || got[0].Key.SetID != "x" {
		t.Fatalf("history of a: %+v", got)
	}
	if got := history(t, st, "none."+zoneName); len(got) != 0 {
		t.Fatalf("history of a name without one: %+v", got)
	}
}

// testJournalPersists: history is read back after a restart.
func testJournalPersists(t *testing.T, h *harness) {
	if h.reopen == nil {
		t.Skip("the store keeps nothing")
	}
	st := h.new(t)
	put(t, st, newZone(zoneName))
	tr := transition("www."+zoneName, "a", record.EventDrainStarted, "")
	tr.At = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	note(t, st, nil, tr)
	st = h.again(t, st)
	if got := history(t, st, "www."+zoneName); len(got) != 1 || !got[0].At.Equal(tr.At) || got[0].Event != tr.Event {
		t.Fatalf("history after a restart: %+v", got)
	}
}

// testJournalDeleteZone: a deleted zone's names lose their history.
func testJournalDeleteZone(t *testing.T, h *harness) {
	st := h.new(t)
	put(t, st, newZone(zoneName))
	note(t, st, nil, transition("www."+zoneName, "a", record.EventRegistered, ""))
	update(t, st, func(tx store.Tx) error { return tx.DeleteZone(zoneName) })
	if got := history(t, st, "www."+zoneName); len(got) != 0 {
		t.Fatalf("history after the zone was deleted: %+v", got)
	}
}

// testJournalReadOnly: a View cannot note.
func testJournalReadOnly(t *testing.T, h *harness) {
	st := h.new(t)
	put(t, st, newZone(zoneName))
	_, _ = st.View(t.Context(), func(tx store.ReadTx) error {
		if err := journalOf(t, tx).Note(transition("www."+zoneName, "a", record.EventRegistered, "")); err == nil {
			t.Error("Note in a View succeeded")
		}
		return nil
	})
}
