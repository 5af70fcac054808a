package auth

import (
	"fmt"
	"strings"
)

// Pattern is a name a register token may write: an exact name
// ("www.lb.example.com.") or a wildcard ("*.pool.lb.example.com.") that
// matches any name of one or more labels under its suffix, not the suffix
// itself. Patterns are stored lowercase and fully qualified.
type Pattern string

// ParsePattern validates and canonicalises a pattern.
func ParsePattern(s string) (Pattern, error) {
	p := strings.ToLower(strings.TrimSuffix(s, "."))
	rest := strings.TrimPrefix(p, "*.")
	if p == "" || p == "*" {
		return "", fmt.Errorf("pattern %q: want a name like www.lb.example.com or *.pool.lb.example.com", s)
	}
	if strings.Contains(rest, "*") {
		return "", fmt.Errorf("pattern %q: a * is allowed only as the whole first label (*.pool.lb.example.com)", s)
	}
	for _, label := range strings.Split(rest, ".") {
		if err := checkLabel(label); err != nil {
			return "", fmt.Errorf("pattern %q: %v", s, err)
		}
	}
	return Pattern(p + "."), nil
}

func checkLabel(label string) error {
	if label == "" || len(label) > 63 {
		return fmt.Errorf("label %q must have 1 to 63 characters", label)
	}
	for _, c := range label {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return fmt.Errorf("label %q may hold only letters, digits, - and _", label)
		}
	}
	return nil
}

// Match reports whether the fully qualified, lowercase name matches p.
func (p Pattern) Match(name string) bool {
	if suffix, ok := strings.CutPrefix(string(p), "*"); ok {
		return len(name) > len(suffix) && strings.HasSuffix(name, suffix)
	}
	return name == string(p)
}
