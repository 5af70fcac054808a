package route53api

import (
	"testing"
	"time"
)

func TestChangeIDRoundTrip(t *testing.T) {
	at := time.Date(2026, 12, 1, 5, 0, 0, 0, time.UTC)
	id := changeID(123456789, at)
	rev, got, ok := parseChangeID(id)
	if !ok || rev != 123456789 || !got.Equal(at) || len(id) > 32 {
		t.Errorf("%s -> %d %s %v", id, rev, got, ok)
	}
	for _, bad := range []string{"", "C", "X" + id[1:], id + "A", "C!!!!"} {
		if _, _, ok := parseChangeID(bad); ok {
			t.Errorf("%q parsed", bad)
		}
	}
}
