package cli_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// completionScript writes `dnslb completion SHELL` to a file and returns
// its path.
func completionScript(t *testing.T, shell string) string {
	t.Helper()
	out, errOut, code := runMain("completion", shell)
	if code != 0 || errOut != "" {
		t.Fatalf("dnslb completion %s: exit %d, stderr %q", shell, code, errOut)
	}
	path := filepath.Join(t.TempDir(), "dnslb."+shell)
	if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestBashCompletion sources the bash script and calls its completion
// function as bash does on TAB: COMP_WORDS as bash splits the line (at "="
// too), COMP_CWORD the word under the cursor.
func TestBashCompletion(t *testing.T) {
	script := completionScript(t, "bash")
	for _, tc := range []struct {
		words []string // the last is the word under the cursor
		want  string
	}{
		{[]string{"dnslb", "rec"}, "record"},
		{[]string{"dnslb", ""}, "serve zone record agent brake status explain history backup restore token version config completion man"},
		{[]string{"dnslb", "record", "set", "--we"}, "--weight"},
		{[]string{"dnslb", "record", "set", "lb.test", "www", "A", "--set-id", "i-1", "--we"}, "--weight"},
		{[]string{"dnslb", "record", "set", "--policy", ""}, "weighted multivalue fail-closed"},
		{[]string{"dnslb", "record", "set", "--policy", "=", "m"}, "multivalue"},
		{[]string{"dnslb", "--server", "http://127.0.0.1:5380", "zo"}, "zone"},
		{[]string{"dnslb", "zone", ""}, "create ls list rm delete import"},
		{[]string{"dnslb", "zone", "delete", "--f"}, "--force"},
		{[]string{"dnslb", "record", "health", "lb.test", "www", "A", "--force", ""}, "up down auto"},
		{[]string{"dnslb", "serve", "--log-f"}, "--log-format"},
		{[]string{"dnslb", "serve", "--serv"}, "--server-id"}, // serve listens; it takes no --server
		{[]string{"dnslb", "agent", "--identity", "e"}, "ec2"},
		{[]string{"dnslb", "completion", ""}, ""}, // an argument, not a subcommand
	} {
		t.Run(strings.Join(tc.words, " "), func(t *testing.T) {
			args := append([]string{"--norc", "-c",
				`source "$0" && COMP_WORDS=("$@") && COMP_CWORD=$(($# - 1)) && _dnslb && echo "${COMPREPLY[*]}"`,
				script}, tc.words...)
			cmd := exec.Command("bash", args...)
			out, err := cmd.CombinedOutput()
			if got := strings.TrimSpace(string(out)); err != nil || got != tc.want {
				t.Errorf("completes %q (%v), want %q", got, err, tc.want)
			}
		})
	}
}

// TestFishCompletion asks fish itself (`complete -C`) when it is
// installed; .ci/run installs it.
func TestFishCompletion(t *testing.T) {
	fish, err := exec.LookPath("fish")
	if err != nil {
		t.Skip("fish not installed (apt-get install fish); .ci/run installs it")
	}
	script := completionScript(t, "fish")
	if out, err := exec.Command(fish, "--no-execute", script).CombinedOutput(); err != nil {
		t.Fatalf("fish -n: %v\n%s", err, out)
	}
	for line, want := range map[string]string{
		"dnslb rec":                      "record",
		"dnslb record set --we":          "--weight",
		"dnslb record drain lb www A --": "--wait",
		"dnslb token create --scope ":    "admin read register",
	} {
		out, err := exec.Command(fish, "--no-config", "-c", `source $argv[1]; complete -C $argv[2]`, script, line).CombinedOutput()
		var got []string
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			word, _, _ := strings.Cut(l, "\t")
			got = append(got, word)
		}
		if err != nil || !strings.Contains(" "+strings.Join(got, " ")+" ", " "+want+" ") {
			t.Errorf("%q completes %q (%v), want %q among them", line, got, err, want)
		}
	}
}

// zshStubs stand in for zsh's completion system (compinit's _describe,
// compadd, _files), printing the candidates instead of offering them, so
// that _dnslb runs in a plain zsh -c; the menu filters by prefix itself.
const zshStubs = `
_describe() { local -a a; a=("${(@P)4}"); print -r -- "${a[@]%%:*}"; }
compadd() { local -a a; a=("${(@P)2}"); print -r -- "${a[@]}"; }
_files() { print -r -- "<files>"; }
compset() { :; }
words=(dnslb) CURRENT=1
source "$0" >/dev/null
words=("$@") CURRENT=$#
_dnslb
`

// TestZshCompletion checks the zsh script's syntax and runs its walk of
// the command line with the completion system stubbed, when zsh is
// installed (.ci/run installs it).
func TestZshCompletion(t *testing.T) {
	zsh, err := exec.LookPath("zsh")
	if err != nil {
		t.Skip("zsh not installed (apt-get install zsh); .ci/run installs it")
	}
	script := completionScript(t, "zsh")
	if out, err := exec.Command(zsh, "-n", script).CombinedOutput(); err != nil {
		t.Errorf("zsh -n: %v\n%s", err, out)
	}
	if head := repoHead(t, script); head != "#compdef dnslb" {
		t.Errorf("first line %q, want #compdef dnslb (compinit finds it by it)", head)
	}
	for _, tc := range []struct {
		words []string
		want  string // among the candidates
	}{
		{[]string{"dnslb", "rec"}, "record"},
		{[]string{"dnslb", "--server", "http://127.0.0.1:5380", "zone", ""}, "delete"},
		{[]string{"dnslb", "record", "set", "--we"}, "--weight"},
		{[]string{"dnslb", "record", "set", "--policy", ""}, "fail-closed"},
		{[]string{"dnslb", "record", "set", "--policy=m"}, "multivalue"},
		{[]string{"dnslb", "backup", ""}, "<files>"},
	} {
		args := append([]string{"-f", "-c", zshStubs, script}, tc.words...)
		out, err := exec.Command(zsh, args...).CombinedOutput()
		if got := strings.Fields(string(out)); err != nil || !slices.Contains(got, tc.want) {
			t.Errorf("%q: candidates %q (%v), want %q among them", tc.words, got, err, tc.want)
		}
	}
	out, _ := exec.Command(zsh, "-f", "-c", zshStubs, script, "dnslb", "serve", "--").CombinedOutput()
	if slices.Contains(strings.Fields(string(out)), "--server") {
		t.Errorf("dnslb serve --<TAB> offers --server (serve listens; it takes none): %s", out)
	}
}

// repoHead is the first line of the file at path.
func repoHead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return line
}
