package cli

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"

	"github.com/alecthomas/kong"
)

// What a config file's errors and warnings add: the keys nearest to an
// unknown one, and secrets that other users can read.

// unknownKey is the error for a key that is no flag of cmd: it names the
// keys nearest to it, or says where the keys are listed.
func unknownKey(key, cmd string, flags map[string]*kong.Flag) error {
	names := make([]string, 0, len(flags))
	for name := range flags {
		names = append(names, name)
	}
	near := nearest(key, names)
	msg := fmt.Sprintf("unknown key %q for dnslb %s", key, cmd)
	if len(near) > 0 {
		return fmt.Errorf("%s; did you mean %s?", msg, strings.Join(near, " or "))
	}
	return fmt.Errorf("%s; the keys are the flags of 'dnslb %s --help', without the dashes", msg, cmd)
}

// nearest are up to three of names closest to key: within an edit
// distance of a third of its length (at least 2), or holding it.
func nearest(key string, names []string) []string {
	limit := max(2, len(key)/3)
	type cand struct {
		name string
		d    int
	}
	var cands []cand
	norm := strings.ReplaceAll(strings.TrimLeft(strings.ToLower(key), "-"), "_", "-")
	for _, n := range names {
		d := editDistance(norm, n)
		if d <= limit || (len(norm) >= 3 && strings.Contains(n, norm)) {
			cands = append(cands, cand{n, d})
		}
	}
	slices.SortFunc(cands, func(a, b cand) int {
		if a.d != b.d {
			return a.d - b.d
		}
		return strings.Compare(a.name, b.name)
	})
	if len(cands) > 0 && cands[0].d == 0 {
		return []string{cands[0].name} // the key, spelt as a flag or in capitals
	}
	var out []string
	for _, c := range cands[:min(3, len(cands))] {
		out = append(out, c.name)
	}
	return out
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// secretFlag reports whether the flag called name holds a secret itself
// (not the name of a file that holds one).
func secretFlag(name string) bool {
	if strings.HasSuffix(name, "-file") {
		return false
	}
	return name == "token" || strings.HasSuffix(name, "-token") ||
		strings.Contains(name, "password") || strings.Contains(name, "secret")
}

// secretWarnings warn when file, of permissions perm, holds a secret that
// other users can read.
func secretWarnings(file *configFile, perm os.FileMode) []string {
	if runtime.GOOS == "windows" || perm&0o004 == 0 {
		return nil
	}
	var warnings []string
	for key, s := range file.settings {
		if secretFlag(key) && s.value != "" {
			hint := "chmod o-r " + file.path
			if key == "token" {
				hint += ", or put the token in a file of its own for token-file"
			}
			warnings = append(warnings, fmt.Sprintf("%s:%d: %s is a secret, and other users can read this file (mode %04o): %s",
				file.path, s.line, key, perm, hint))
		}
	}
	slices.Sort(warnings)
	return warnings
}
