package auth

import (
	"fmt"
	"strings"
)

// Scope is what a token may do.
type Scope string

// Scopes, from most to least powerful.
const (
	// Admin may do everything: zones, any record set, health overrides,
	// profiles, backups.
	Admin Scope = "admin"
	// Register may create, renew, report health for, drain and delete the
	// record sets it registered itself (proven by each set's secret), under
	// names that match its patterns, and read what it needs for that.
	Register Scope = "register"
	// Read may list and read: zones, record sets, status, metrics.
	Read Scope = "read"
)

// Token is one entry of the tokens file.
type Token struct {
	Name     string    // appears in the audit log
	Scope    Scope     //
	Patterns []Pattern // register only: the names it may write
	SetID    string    // register only, optional: the one set id it may write
	Hash     string    // "sha256:" + hex of the secret
}

// Line is t as a line of the tokens file.
func (t *Token) Line() string {
	scope := string(t.Scope)
	if len(t.Patterns) > 0 {
		ps := make([]string, len(t.Patterns))
		for i, p := range t.Patterns {
			ps[i] = strings.TrimSuffix(string(p), ".")
		}
		scope += ":" + strings.Join(ps, ",")
	}
	if t.SetID != "" {
		scope += "@" + t.SetID
	}
	return t.Name + " " + scope + " " + t.Hash
}

// MatchName reports whether t may write the fully qualified name.
func (t *Token) MatchName(name string) bool {
	for _, p := range t.Patterns {
		if p.Match(name) {
			return true
		}
	}
	return false
}

// PatternList is t's patterns as a person reads them, for error messages.
func (t *Token) PatternList() string {
	ps := make([]string, len(t.Patterns))
	for i, p := range t.Patterns {
		ps[i] = strings.TrimSuffix(string(p), ".")
	}
	return strings.Join(ps, ", ")
}

// NewTokenEntry checks the parts of a token and returns it; it is what
// both the tokens file and `dnslb token create` build tokens with.
func NewTokenEntry(name string, scope Scope, patterns []string, setID, hash string) (*Token, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	t := &Token{Name: name, Scope: scope, SetID: setID, Hash: hash}
	switch scope {
	case Admin, Read:
		if len(patterns) > 0 || setID != "" {
			return nil, fmt.Errorf("scope %s takes no name patterns or set id; only register does", scope)
		}
	case Register:
		if len(patterns) == 0 {
			return nil, fmt.Errorf("scope register needs name patterns, e.g. register:www.lb.example.com,*.pool.lb.example.com")
		}
	default:
		return nil, fmt.Errorf("scope %q is not a scope; allowed: admin, register, read", scope)
	}
	for _, s := range patterns {
		p, err := ParsePattern(s)
		if err != nil {
			return nil, err
		}
		t.Patterns = append(t.Patterns, p)
	}
	if scope == Register && setID != "" && (len(setID) > 128 || strings.ContainsAny(setID, " \t")) {
		return nil, fmt.Errorf("set id %q: allowed 1..128 characters without spaces", setID)
	}
	if !validHash(hash) {
		return nil, fmt.Errorf("hash %q: want sha256: and 64 lowercase hex digits (from `dnslb token create`)", clip(hash))
	}
	return t, nil
}

// checkName allows token names that read well in logs and need no quoting.
func checkName(name string) error {
	if name == "" || len(name) > 64 {
		return fmt.Errorf("name %q: allowed 1..64 characters", clip(name))
	}
	for _, c := range name {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.ContainsRune("._-", c)) {
			return fmt.Errorf("name %q: allowed letters, digits, '.', '_' and '-'", clip(name))
		}
	}
	return nil
}

// clip shortens what an error message repeats of the input.
func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
