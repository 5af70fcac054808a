package cli_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/dnslb/dnslb/internal/cli"
)

func runMain(args ...string) (stdout, stderr string, code int) {
	var o, e bytes.Buffer
	code = cli.Main(args, &o, &e)
	return o.String(), e.String(), code
}

// TestUsageErrorsExit2: a command line that is wrong exits 2 with the
// reason and where the usage is, on stderr; nothing on stdout.
func TestUsageErrorsExit2(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"record", "bogus"}, "dnslb: unexpected argument bogus\nRun 'dnslb record --help' for usage.\n"},
		{[]string{"--bogus"}, "dnslb: unknown flag --bogus\nRun 'dnslb --help' for usage.\n"},
		{[]string{"record", "set", "lb.test", "www", "A", "--set-id", "x", "--value", "127.0.0.1"},
			"dnslb: --weight is required with --set-id; allowed 0..255\n"},
		{[]string{"record", "set", "lb.test", "www", "A", "--weight", "3", "--value", "127.0.0.1"},
			"dnslb: --weight needs --set-id; a set without --set-id is a simple record\n"},
	} {
		out, errOut, code := runMain(append([]string{"--server", "http://127.0.0.1:1"}, tc.args...)...)
		if code != 2 || errOut != tc.want || out != "" {
			t.Errorf("%v: exit %d, stderr %q, stdout %q; want exit 2, stderr %q", tc.args, code, errOut, out, tc.want)
		}
	}
}

func TestVersionFlagAndCommand(t *testing.T) {
	flag, errOut, code := runMain("--version")
	if code != 0 || errOut != "" || !strings.HasPrefix(flag, "dnslb ") || !strings.Contains(flag, "(commit ") {
		t.Fatalf("--version: exit %d, stdout %q, stderr %q", code, flag, errOut)
	}
	cmd, _, code := runMain("version")
	if code != 0 || cmd != flag {
		t.Errorf("version: exit %d, %q; want what --version prints, %q", code, cmd, flag)
	}
	out, _, code := runMain("version", "--json")
	var v struct{ Version, Commit, Go string }
	if err := json.Unmarshal([]byte(out), &v); code != 0 || err != nil || v.Version == "" || v.Commit == "" || v.Go == "" {
		t.Errorf("version --json: exit %d, %v: %q", code, err, out)
	}
	// The test binary is built without VCS information (GOFLAGS=-buildvcs=false
	// here); a missing commit is said so, not left empty.
	if !strings.Contains(flag, v.Commit) {
		t.Errorf("--version %q does not name commit %q", flag, v.Commit)
	}
}

// TestHelpListsOnlyTheFlagsACommandTakes: serve connects to no server and
// prints no JSON, so its help lists neither --server nor --json.
func TestHelpListsOnlyTheFlagsACommandTakes(t *testing.T) {
	for _, tc := range []struct {
		cmd        []string
		has, hasnt []string
	}{
		{[]string{"serve"}, []string{"--api", "--dns"}, []string{"--server", "--json"}},
		{[]string{"agent"}, []string{"--server"}, []string{"--json"}},
		{[]string{"record", "ls"}, []string{"--server", "--json"}, nil},
		{[]string{"zone", "ls"}, []string{"--server", "--json"}, nil},
	} {
		out, _, code := runMain(append(tc.cmd, "--help")...)
		if code != 0 {
			t.Errorf("%v --help: exit %d", tc.cmd, code)
		}
		for _, f := range tc.has {
			if !strings.Contains(out, f+"=") && !strings.Contains(out, f+" ") {
				t.Errorf("%v --help lacks %s:\n%s", tc.cmd, f, out)
			}
		}
		for _, f := range tc.hasnt { // the whole flag: serve's --server-id is another
			if strings.Contains(out, f+"=") || strings.Contains(out, f+" ") || strings.Contains(out, f+"\n") {
				t.Errorf("%v --help lists %s:\n%s", tc.cmd, f, out)
			}
		}
	}
	// Hiding is for the help only: the flags still parse everywhere.
	if out, _, code := runMain("serve", "--help"); code != 0 || strings.Contains(out, "--server=") || strings.Contains(out, "--server ") {
		t.Errorf("serve --help a second time: exit %d", code)
	}
	if out, _, _ := runMain("record", "ls", "--help"); !strings.Contains(out, "--server") {
		t.Errorf("record ls --help after serve --help lacks --server:\n%s", out)
	}
}
