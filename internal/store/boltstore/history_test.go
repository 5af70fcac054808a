package boltstore

import (
	"errors"
	"slices"
	"testing"

	"github.com/dnslb/dnslb/internal/store"
)

func events(rev int64, n int) []store.Event {
	evs := make([]store.Event, n)
	for i := range evs {
		evs[i] = store.Event{Rev: rev, Kind: store.PutZone}
	}
	return evs
}

func revs(evs []store.Event) []int64 {
	var r []int64
	for _, ev := range evs {
		r = append(r, ev.Rev)
	}
	return r
}

func TestHistory(t *testing.T) {
	h := newHistory(0, 3)
	h.append(1, events(1, 1))
	h.append(2, events(2, 3))
	h.append(3, events(3, 1))
	cases := []struct {
		from  int64
		limit int
		want  []int64
	}{
		{0, 100, []int64{1, 2, 2, 2, 3}},
		{0, 2, []int64{1, 2, 2, 2}}, // a revision is never split
		{1, 1, []int64{2, 2, 2}},
		{2, 1, []int64{3}},
	}
	for _, tc := range cases {
		got, changed, err := h.since(tc.from, tc.limit)
		if err != nil || changed != nil || !slices.Equal(revs(got), tc.want) {
			t.Errorf("since(%d, %d) = %v, %v, %v; want %v", tc.from, tc.limit, revs(got), changed, err, tc.want)
		}
	}
	if got, changed, err := h.since(3, 100); got != nil || changed == nil || err != nil {
		t.Errorf("since(newest) = %v, %v, %v; want nothing yet and a channel", got, changed, err)
	}

	_, changed, _ := h.since(3, 100)
	h.append(4, events(4, 1)) // keeps revisions 2..4
	select {
	case <-changed:
	default:
		t.Error("append did not close the changed channel")
	}
	if _, _, err := h.since(0, 100); !errors.Is(err, store.ErrCompacted) {
		t.Errorf("since(0) after revision 1 was dropped: %v, want ErrCompacted", err)
	}
	if got, _, err := h.since(1, 100); err != nil || !slices.Equal(revs(got), []int64{2, 2, 2, 3, 4}) {
		t.Errorf("since(1) = %v, %v; want revisions 2..4", revs(got), err)
	}
}
