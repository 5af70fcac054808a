package auth

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"
)

// The tokens file has one token per line, three fields separated by
// spaces or tabs:
//
//	# name     scope[:pattern,...][@set-id]             hash
//	ops        admin                                    sha256:<64 hex>
//	web-pool   register:*.pool.lb.example.com           sha256:<64 hex>
//	web-1      register:www.lb.example.com@i-0abc123    sha256:<64 hex>
//	grafana    read                                     sha256:<64 hex>
//
// Blank lines and lines starting with # are ignored. Names and hashes are
// unique. Nothing else is accepted: a file that does not parse is refused
// whole, with the line at fault.

// maxLine bounds a line of the tokens file.
const maxLine = 4096

// Tokens is a parsed tokens file: tokens by hash.
type Tokens struct {
	byHash map[string]*Token
	list   []*Token
}

// Len is the number of tokens.
func (ts *Tokens) Len() int {
	if ts == nil {
		return 0
	}
	return len(ts.list)
}

// Lookup finds the token whose secret is secret. The lookup is by the
// secret's hash, so it leaks nothing useful through its timing.
func (ts *Tokens) Lookup(secret string) (*Token, bool) {
	if ts == nil || secret == "" {
		return nil, false
	}
	t, ok := ts.byHash[Hash(secret)]
	return t, ok
}

// ReadFile parses the tokens file at path.
func ReadFile(path string) (*Tokens, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokens file: %w", err)
	}
	ts, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("tokens file %s:%w", path, err)
	}
	return ts, nil
}

// Parse parses the text of a tokens file. Errors start with the line
// number ("3: ...").
func Parse(data []byte) (*Tokens, error) {
	ts := &Tokens{byHash: map[string]*Token{}}
	names := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 1024), maxLine)
	n := 0
	for sc.Scan() {
		n++
		t, err := parseLine(sc.Text())
		if err == nil && t != nil {
			err = ts.add(t, n, names)
		}
		if err != nil {
			return nil, fmt.Errorf("%d: %v", n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%d: line is longer than %d bytes", n+1, maxLine)
	}
	return ts, nil
}

func (ts *Tokens) add(t *Token, line int, names map[string]int) error {
	if prev, ok := names[t.Name]; ok {
		return fmt.Errorf("token name %q is already used on line %d; names must be unique", t.Name, prev)
	}
	if prev, ok := ts.byHash[t.Hash]; ok {
		return fmt.Errorf("hash is already the hash of token %q (line %d); make a new token with `dnslb token create`", prev.Name, names[prev.Name])
	}
	names[t.Name] = line
	ts.byHash[t.Hash] = t
	ts.list = append(ts.list, t)
	return nil
}

// parseLine parses one line; a blank or comment line is nil, nil.
func parseLine(line string) (*Token, error) {
	line = strings.TrimRight(line, "\r")
	trimmed := strings.TrimSpace(line)
	if trimmed == "" || strings.HasPrefix(trimmed, "#") {
		return nil, nil
	}
	for _, c := range line {
		if c < 0x20 && c != '\t' || c == 0x7f {
			return nil, fmt.Errorf("control character %q; a line is: name scope[:patterns][@set-id] sha256:HEX", c)
		}
	}
	f := strings.Fields(trimmed)
	if len(f) != 3 {
		return nil, fmt.Errorf("%d fields; want 3: name scope[:patterns][@set-id] sha256:HEX", len(f))
	}
	scope, patterns, setID := splitScope(f[1])
	return NewTokenEntry(f[0], scope, patterns, setID, f[2])
}

// splitScope splits "register:a,b@id" into its parts.
func splitScope(s string) (Scope, []string, string) {
	s, setID, _ := strings.Cut(s, "@")
	scope, list, hasList := strings.Cut(s, ":")
	var patterns []string
	if hasList {
		patterns = strings.Split(list, ",") // "" becomes one empty pattern: refused
	}
	return Scope(scope), patterns, setID
}
