package record

import (
	"errors"
	"strings"
	"testing"
)

func TestCanonical(t *testing.T) {
	const zone = "lb.test."
	cases := []struct {
		in, want, errField string
	}{
		{"www", "www.lb.test.", ""},
		{"WWW", "www.lb.test.", ""},
		{"@", "lb.test.", ""},
		{"", "lb.test.", ""},
		{"www.lb.test", "www.lb.test.", ""},
		{"www.LB.test.", "www.lb.test.", ""},
		{"lb.test", "lb.test.", ""},
		{"a.b", "a.b.lb.test.", ""},
		{"_http._tcp", "_http._tcp.lb.test.", ""},
		{"www.example.com.", "", "name"},
		{"a..b", "", "name"},
		{strings.Repeat("a", 64), "", "name"},
		{"sp ace", "", "name"},
		{strings.Repeat("abcdefghi.", 26), "", "name"},
	}
	for _, tc := range cases {
		got, err := Canonical("name", tc.in, zone)
		if tc.errField != "" {
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tc.errField || !errors.Is(err, ErrInvalid) {
				t.Errorf("Canonical(%q) error = %v, want a FieldError on %q", tc.in, err, tc.errField)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Canonical(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestNormalizeValue(t *testing.T) {
	cases := []struct {
		typ      Type
		in, want string
		ok       bool
	}{
		{A, "127.0.0.1", "127.0.0.1", true},
		{A, " 10.0.0.1 ", "10.0.0.1", true},
		{A, "::1", "", false},
		{A, "1.2.3", "", false},
		{A, "::ffff:1.2.3.4", "", false},
		{AAAA, "2001:DB8::1", "2001:db8::1", true},
		{AAAA, "1.2.3.4", "", false},
		{AAAA, "::ffff:1.2.3.4", "", false},
		{AAAA, "fe80::1%eth0", "", false},
		{CNAME, "Target.Example.COM", "target.example.com.", true},
		{CNAME, "bad name", "", false},
		{MX, "10 mail.example.com", "10 mail.example.com.", true},
		{MX, "mail.example.com", "", false},
		{MX, "70000 mail.example.com", "", false},
		{SRV, "1 2 443 t.example.com.", "1 2 443 t.example.com.", true},
		{SRV, "1 2 t.example.com.", "", false},
		{SRV, "0 0 0 .", "0 0 0 .", true},
		{TXT, "v=spf1 -all", "v=spf1 -all", true},
		{TXT, strings.Repeat("x", MaxTXTLen+1), "", false},
	}
	for _, tc := range cases {
		got, err := NormalizeValue("values[0]", tc.typ, tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("NormalizeValue(%s, %q) = %q, %v; want %q ok=%v", tc.typ, tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestNormalizeSet(t *testing.T) {
	base := func() Set {
		return Set{Key: Key{Name: "www", Type: "a", SetID: "i-1"}, Weight: 10, TTL: 60, Values: []string{"127.0.0.1"}}
	}
	s := base()
	if err := s.Normalize("lb.test."); err != nil {
		t.Fatal(err)
	}
	if s.Name != "www.lb.test." || s.Type != A || s.State != Active || s.Zone != "lb.test." {
		t.Errorf("normalized = %+v", s)
	}
	bad := []struct {
		field string
		edit  func(*Set)
	}{
		{"weight", func(s *Set) { s.Weight = 256 }},
		{"weight", func(s *Set) { s.Weight = -1 }},
		{"weight", func(s *Set) { s.SetID = "" }},
		{"set_id", func(s *Set) { s.SetID = strings.Repeat("x", 129) }},
		{"set_id", func(s *Set) { s.SetID = "a\nb" }},
		{"ttl", func(s *Set) { s.TTL = MaxTTL + 1 }},
		{"type", func(s *Set) { s.Type = "NS" }},
		{"state", func(s *Set) { s.State = "gone" }},
		{"values", func(s *Set) { s.Values = nil }},
		{"values", func(s *Set) { s.Values = make([]string, MaxValues+1) }},
		{"values[1]", func(s *Set) { s.Values = []string{"127.0.0.1", "x"} }},
	}
	for _, tc := range bad {
		s := base()
		tc.edit(&s)
		var fe *FieldError
		if err := s.Normalize("lb.test."); !errors.As(err, &fe) || fe.Field != tc.field {
			t.Errorf("want error on %s, got %v", tc.field, err)
		}
	}
}

func TestCheckNode(t *testing.T) {
	w := func(typ Type, id string, ttl uint32) Set {
		return Set{Key: Key{Zone: "lb.test.", Name: "www.lb.test.", Type: typ, SetID: id}, Weight: 1, TTL: ttl}
	}
	apex := Set{Key: Key{Zone: "lb.test.", Name: "lb.test.", Type: CNAME}}
	many := make([]Set, MaxWeightedSets+1)
	for i := range many {
		many[i] = w(A, strings.Repeat("x", i+1), 60)
	}
	cases := []struct {
		name  string
		sets  []Set
		field string
	}{
		{"weighted group", []Set{w(A, "a", 60), w(A, "b", 60), w(AAAA, "c", 30)}, ""},
		{"ttl mismatch", []Set{w(A, "a", 60), w(A, "b", 30)}, "ttl"},
		{"weighted and simple", []Set{w(A, "a", 60), w(A, "", 60)}, "set_id"},
		{"too many", many, "set_id"},
		{"cname alone", []Set{w(CNAME, "a", 60), w(CNAME, "b", 60)}, ""},
		{"cname and A", []Set{w(CNAME, "a", 60), w(A, "b", 60)}, "type"},
		{"cname at apex", []Set{apex}, "type"},
	}
	for _, tc := range cases {
		changed := tc.sets[len(tc.sets)-1].Key
		err := CheckNode(tc.sets, changed)
		var fe *FieldError
		if tc.field == "" && err != nil || tc.field != "" && (!errors.As(err, &fe) || fe.Field != tc.field) {
			t.Errorf("%s: CheckNode = %v, want field %q", tc.name, err, tc.field)
		}
	}
	// The TTL message names the changed set's TTL and the other one,
	// wherever the changed set is in the list.
	const want = "ttl: weighted sets of www.lb.test. A share one TTL; set b has 30, set a has 60"
	if err := CheckNode([]Set{w(A, "b", 30), w(A, "a", 60)}, Key{Zone: "lb.test.", Name: "www.lb.test.", Type: A, SetID: "b"}); err == nil || err.Error() != want {
		t.Errorf("ttl mismatch: %v, want %s", err, want)
	}
}
