package record

import (
	"net/netip"
	"testing"
)

// TestNormalizeForCheckTargets: which server-side targets a set may have,
// by the set's values and the operator's allow-list.
func TestNormalizeForCheckTargets(t *testing.T) {
	allow := CheckRules{Allow: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("127.0.0.0/8")}}
	for _, tc := range []struct {
		typ    Type
		values []string
		target string
		rules  CheckRules
		ok     bool
	}{
		{A, []string{"10.0.0.1"}, "http://:8080/health", CheckRules{}, true},
		{A, []string{"10.0.0.1"}, "tcp://10.0.0.1:443", CheckRules{}, true},
		{AAAA, []string{"2001:db8::1"}, "https://[2001:db8::1]:8443/", CheckRules{}, true},
		{AAAA, []string{"2001:db8::1"}, "tcp://:443", CheckRules{}, true},
		{AAAA, []string{"fe80::1"}, "tcp://:443", CheckRules{}, false},
		{AAAA, []string{"2001:db8::1"}, "tcp://[2001:db8::2]:443", CheckRules{}, false},
		{A, []string{"10.0.0.1"}, "tcp://192.0.2.9:443", CheckRules{}, false},
		{A, []string{"10.0.0.1"}, "tcp://192.0.2.9:443", allow, true},
		{CNAME, []string{"www.lb.test."}, "tcp://192.0.2.9:443", allow, true},
		{CNAME, []string{"www.lb.test."}, "tcp://:443", allow, false},
		{A, []string{"127.0.0.1"}, "http://:80/", CheckRules{}, false},
		{A, []string{"127.0.0.1"}, "http://:80/", allow, true},
		{A, []string{"10.0.0.1"}, "http://localhost:80/", allow, false},
		{A, []string{"10.0.0.1"}, "http://[fe80::1%25eth0]:80/", CheckRules{Allow: []netip.Prefix{netip.MustParsePrefix("::/0")}}, false},
	} {
		s := Set{Key: Key{Name: "x", Type: tc.typ}, Values: append([]string(nil), tc.values...), Check: &Check{Target: tc.target}}
		err := s.NormalizeFor("lb.test.", tc.rules)
		if (err == nil) != tc.ok {
			t.Errorf("%s %v check %s (allow %v): %v, want ok %v", tc.typ, tc.values, tc.target, tc.rules.Allow, err, tc.ok)
		}
	}
}
