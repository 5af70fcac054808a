package route53api

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"

	"github.com/dnslb/dnslb/internal/auth"
)

// The credentials file (serve --r53-credentials) has one access key per
// line, three fields separated by spaces or tabs:
//
//	# access-key-id        secret-access-key                          scope
//	AKIAOPS0000000000001   wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY   admin
//	AKIAPOOL000000000001   je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY   register:*.pool.example.com
//	AKIAGRAFANA000000001   Ge4ZqKxbEXAMPLEKEY0000000000000000000000   read
//
// The scope is that of a dnslb token (package auth): admin may do
// everything; read may call Get* and List*; register may also change
// weighted record sets whose names match its patterns (and whose set
// identifier is its own, with @set-id). Blank lines and lines starting
// with # are ignored; a file that does not parse is refused whole, with
// the line at fault.

// Key is one access key of the credentials file.
type Key struct {
	ID     string
	Secret string
	Token  *auth.Token // the scope; its Name is ID
}

// Keys are the access keys the API accepts, by id.
type Keys struct {
	byID map[string]*Key
}

// ReadKeys parses the credentials file at path.
func ReadKeys(path string) (*Keys, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("r53 credentials file: %w", err)
	}
	ks, err := ParseKeys(data)
	if err != nil {
		return nil, fmt.Errorf("r53 credentials file %s:%w", path, err)
	}
	return ks, nil
}

// ParseKeys parses the text of a credentials file; errors start with the
// line number (" line 3: ...").
func ParseKeys(data []byte) (*Keys, error) {
	ks := &Keys{byID: map[string]*Key{}}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		k, err := parseKeyLine(sc.Text())
		if err == nil && k != nil && ks.byID[k.ID] != nil {
			err = fmt.Errorf("access key id %s is given twice", k.ID)
		}
		if err != nil {
			return nil, fmt.Errorf(" line %d: %w", n, err)
		}
		if k != nil {
			ks.byID[k.ID] = k
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf(" %w", err)
	}
	if len(ks.byID) == 0 {
		return nil, fmt.Errorf(" no access keys; a line is: ACCESS_KEY_ID SECRET_ACCESS_KEY SCOPE")
	}
	return ks, nil
}

// NewKeys returns Keys holding the given keys (tests, embedding).
func NewKeys(keys ...*Key) *Keys {
	ks := &Keys{byID: map[string]*Key{}}
	for _, k := range keys {
		ks.byID[k.ID] = k
	}
	return ks
}

// NewKey checks the parts of an access key; scope is as in the tokens
// file: admin, read, or register:PATTERN,...[@SET-ID].
func NewKey(id, secret, scope string) (*Key, error) {
	if len(id) < 16 || len(id) > 128 {
		return nil, fmt.Errorf("access key id %q: allowed 16..128 letters and digits", clip(id))
	}
	for _, c := range id {
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9') {
			return nil, fmt.Errorf("access key id %q: allowed 16..128 letters and digits", clip(id))
		}
	}
	if len(secret) < 16 {
		return nil, fmt.Errorf("secret access key of %s: is %d characters long; at least 16 are required", id, len(secret))
	}
	s, setID, _ := strings.Cut(scope, "@")
	sc, list, hasList := strings.Cut(s, ":")
	var patterns []string
	if hasList {
		patterns = strings.Split(list, ",")
	}
	tok, err := auth.NewTokenEntry(id, auth.Scope(sc), patterns, setID, auth.Hash(secret))
	if err != nil {
		return nil, fmt.Errorf("access key %s: %w", id, err)
	}
	return &Key{ID: id, Secret: secret, Token: tok}, nil
}

func parseKeyLine(line string) (*Key, error) {
	t := strings.TrimSpace(strings.TrimRight(line, "\r"))
	if t == "" || strings.HasPrefix(t, "#") {
		return nil, nil
	}
	f := strings.Fields(t)
	if len(f) != 3 {
		return nil, fmt.Errorf("%d fields; want 3: ACCESS_KEY_ID SECRET_ACCESS_KEY SCOPE", len(f))
	}
	return NewKey(f[0], f[1], f[2])
}

// lookup returns the key with id.
func (ks *Keys) lookup(id string) (*Key, bool) {
	if ks == nil {
		return nil, false
	}
	k, ok := ks.byID[id]
	return k, ok
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
