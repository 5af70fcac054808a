package auth

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var h1, h2 = Hash("one"), Hash("two")

func TestParseValid(t *testing.T) {
	file := "# tokens\n\nops admin " + h1 + "\r\n\tweb-pool\tregister:*.Pool.lb.example.com.,www.lb.example.com@i-1 " + h2 + "\n"
	ts, err := Parse([]byte(file))
	if err != nil {
		t.Fatal(err)
	}
	if ts.Len() != 2 {
		t.Fatalf("len %d", ts.Len())
	}
	tok, ok := ts.Lookup("two")
	if !ok || tok.Name != "web-pool" || tok.Scope != Register || tok.SetID != "i-1" {
		t.Fatalf("lookup two: %+v %v", tok, ok)
	}
	if got, want := tok.Line(), "web-pool register:*.pool.lb.example.com,www.lb.example.com@i-1 "+h2; got != want {
		t.Errorf("line %q, want %q", got, want)
	}
	if _, ok := ts.Lookup("three"); ok {
		t.Error("unknown secret found")
	}
}

// TestParseInvalid pins the whole message of every refusal, with its line.
func TestParseInvalid(t *testing.T) {
	for _, c := range []struct{ file, want string }{
		{"ops admin", "1: 2 fields; want 3: name scope[:patterns][@set-id] sha256:HEX"},
		{"# c\nops admin " + h1 + " extra", "2: 4 fields; want 3: name scope[:patterns][@set-id] sha256:HEX"},
		{"ops root " + h1, `1: scope "root" is not a scope; allowed: admin, register, read`},
		{"ops admin:www.x " + h1, "1: scope admin takes no name patterns or set id; only register does"},
		{"r read@id " + h1, "1: scope read takes no name patterns or set id; only register does"},
		{"web register " + h1, "1: scope register needs name patterns, e.g. register:www.lb.example.com,*.pool.lb.example.com"},
		{"web register:www.x, " + h1, "1: pattern \"\": want a name like www.lb.example.com or *.pool.lb.example.com"},
		{"web register:a.*.x " + h1, `1: pattern "a.*.x": a * is allowed only as the whole first label (*.pool.lb.example.com)`},
		{"web register:* " + h1, `1: pattern "*": want a name like www.lb.example.com or *.pool.lb.example.com`},
		{"web register:a..x " + h1, `1: pattern "a..x": label "" must have 1 to 63 characters`},
		{"web register:a/b " + h1, `1: pattern "a/b": label "a/b" may hold only letters, digits, - and _`},
		{"ops admin sha256:abc", `1: hash "sha256:abc": want sha256: and 64 lowercase hex digits (from ` + "`dnslb token create`)"},
		{"ops admin " + strings.ToUpper(h1), `1: hash "SHA256:` + strings.ToUpper(h1[7:]) + `": want sha256: and 64 lowercase hex digits (from ` + "`dnslb token create`)"},
		{"o%s admin " + h1, `1: name "o%s": allowed letters, digits, '.', '_' and '-'`},
		{"ops admin " + h1 + "\nops read " + h2, `2: token name "ops" is already used on line 1; names must be unique`},
		{"ops admin " + h1 + "\nro read " + h1, "2: hash is already the hash of token \"ops\" (line 1); make a new token with `dnslb token create`"},
		{"ops\x00 admin " + h1, "1: control character '\\x00'; a line is: name scope[:patterns][@set-id] sha256:HEX"},
		{strings.Repeat("x", 5000), "1: line is longer than 4096 bytes"},
	} {
		_, err := Parse([]byte(c.file))
		if err == nil || err.Error() != c.want {
			t.Errorf("Parse(%q):\n got %v\nwant %s", clip(c.file), err, c.want)
		}
	}
}

func TestReadFileNamesPathAndLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(path, []byte("ops admin "+h1+"\nbad\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := ReadFile(path)
	if want := "tokens file " + path + ":2: 1 fields; want 3: name scope[:patterns][@set-id] sha256:HEX"; err == nil || err.Error() != want {
		t.Fatalf("got %v, want %s", err, want)
	}
}

// TestKeeperReload: a reload takes a changed file; a broken file keeps
// the tokens in use.
func TestKeeperReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens")
	write := func(s string) {
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("ops admin " + h1 + "\n")
	k, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	write("ro read " + h2 + "\n")
	if err := k.Reload(); err != nil {
		t.Fatal(err)
	}
	if _, ok := k.Tokens().Lookup("one"); ok {
		t.Error("removed token still accepted after reload")
	}
	if tok, ok := k.Tokens().Lookup("two"); !ok || tok.Name != "ro" {
		t.Error("added token not accepted after reload")
	}
	write("garbage\n")
	if err := k.Reload(); err == nil {
		t.Fatal("broken file accepted")
	}
	if _, ok := k.Tokens().Lookup("two"); !ok {
		t.Error("a failed reload dropped the tokens in use")
	}
}

func TestPatternMatch(t *testing.T) {
	p, _ := ParsePattern("*.pool.lb.example.com")
	www, _ := ParsePattern("WWW.lb.example.com.")
	for _, c := range []struct {
		p    Pattern
		name string
		want bool
	}{
		{p, "a.pool.lb.example.com.", true},
		{p, "a.b.pool.lb.example.com.", true},
		{p, "pool.lb.example.com.", false},
		{p, "apool.lb.example.com.", false},
		{p, "a.pool.lb.example.com.evil.", false},
		{www, "www.lb.example.com.", true},
		{www, "x.www.lb.example.com.", false},
		{www, "ww.lb.example.com.", false},
	} {
		if got := c.p.Match(c.name); got != c.want {
			t.Errorf("%s.Match(%s) = %v", c.p, c.name, got)
		}
	}
}

func TestSecrets(t *testing.T) {
	s := NewSetSecret()
	if !strings.HasPrefix(s, SetPrefix) || len(s) != len(SetPrefix)+43 {
		t.Fatalf("secret %q", s)
	}
	if !SecretMatches(s, Hash(s)) || SecretMatches(s, Hash(s+"x")) || SecretMatches("", "") || SecretMatches(s, "") {
		t.Error("SecretMatches")
	}
	if NewToken() == NewToken() {
		t.Error("tokens repeat")
	}
}

// FuzzParse: no input panics; every refusal names its line; what parses
// prints back as lines that parse to the same tokens.
func FuzzParse(f *testing.F) {
	f.Add([]byte("ops admin " + h1 + "\nweb register:*.pool.x,www.x@i-1 " + h2 + "\n# c\n"))
	f.Add([]byte("a register:,@ sha256:"))
	f.Add([]byte("\xff\xfe admin " + h1))
	f.Fuzz(func(t *testing.T, data []byte) {
		ts, err := Parse(data)
		if err != nil {
			if msg := err.Error(); msg == "" || msg[0] < '1' || msg[0] > '9' || !strings.Contains(msg, ": ") {
				t.Fatalf("error without a line number: %q", msg)
			}
			return
		}
		var b strings.Builder
		for _, tok := range ts.list {
			b.WriteString(tok.Line() + "\n")
		}
		again, err := Parse([]byte(b.String()))
		if err != nil || again.Len() != ts.Len() {
			t.Fatalf("printed tokens do not parse back: %v\n%s", err, b.String())
		}
	})
}
