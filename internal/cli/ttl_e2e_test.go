package cli_test

import (
	"encoding/json"
	"testing"

	"github.com/miekg/dns"

	"github.com/dnslb/dnslb/internal/record"
)

// TestGroupTTLEndToEnd: a rolling deploy that changes the TTL. The
// instance registering with TTL 60 next to one with 30 is accepted, the
// whole group answers with 60, and a write without --ttl keeps it.
func TestGroupTTLEndToEnd(t *testing.T) {
	s := startServer(t, "127.0.0.41", t.TempDir(), "--zone", "lb.test")
	s.run(t, "record", "set", "lb.test", "www", "A", "--set-id", "i-old", "--weight", "10", "--ttl", "30", "--value", "127.0.1.1")
	s.run(t, "record", "set", "lb.test", "www", "A", "--set-id", "i-new", "--weight", "10", "--ttl", "60", "--value", "127.0.1.2")
	s.run(t, "record", "set", "lb.test", "www", "A", "--set-id", "i-next", "--weight", "10", "--value", "127.0.1.3")
	var sets []record.Set
	if err := json.Unmarshal([]byte(s.run(t, "record", "ls", "lb.test", "--json")), &sets); err != nil || len(sets) != 3 {
		t.Fatalf("record ls --json: %v, %d sets", err, len(sets))
	}
	for _, set := range sets {
		if set.TTL != 60 {
			t.Errorf("set %s has TTL %d, want the group's 60", set.SetID, set.TTL)
		}
	}
	for range 20 {
		r := s.query(t, "www.lb.test.", dns.TypeA, "udp")
		if len(r.Answer) != 1 || r.Answer[0].Header().Ttl != 60 {
			t.Fatalf("answer %v, want one record with TTL 60", r.Answer)
		}
	}
	s.stop(t)
}
