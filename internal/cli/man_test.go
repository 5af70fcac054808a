package cli

import (
	"bytes"
	"github.com/alecthomas/kong"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// manPage is `dnslb man` of this build.
func manPage(t *testing.T) string {
	t.Helper()
	var out, errOut bytes.Buffer
	if code := Main([]string{"man", "--date", "2026-12-01"}, &out, &errOut); code != 0 || errOut.Len() != 0 {
		t.Fatalf("dnslb man: exit %d, stderr %q", code, errOut.String())
	}
	return out.String()
}

// TestManListsEveryCommandFlagAndVariable: the page is generated from the
// parser's model, so it names every visible command, option (with its
// default) and environment variable that --help shows.
func TestManListsEveryCommandFlagAndVariable(t *testing.T) {
	page := manPage(t)
	cli := root{config: &configResolver{}}
	cli.stdout, cli.stderr = &bytes.Buffer{}, &bytes.Buffer{}
	parser, err := newParser(&cli, kong.Exit(func(int) {}))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range commandsOf(parser.Model) {
		if c.path != "" && !strings.Contains(page, `.SS "dnslb `+c.path+`"`) {
			t.Errorf("no section for dnslb %s", c.path)
		}
		for _, f := range c.flags {
			if !strings.Contains(page, `\fB\-\-`+roffDash(f.Name)+`\fR`) {
				t.Errorf("dnslb %s: --%s missing", c.path, f.Name)
			}
			if f.HasDefault && f.Default != "" && !strings.Contains(page, "Default: \\fB"+roffText(f.Default)+"\\fR") {
				t.Errorf("dnslb %s: the default of --%s (%s) missing", c.path, f.Name, f.Default)
			}
			for _, env := range f.Envs {
				if !strings.Contains(page, ".B "+roffDash(env)+"\n") {
					t.Errorf("dnslb %s: %s of --%s missing from ENVIRONMENT", c.path, env, f.Name)
				}
			}
		}
	}
	for _, hidden := range []string{"--backoff-min", "--brake-share", "--autoscaling-endpoint"} {
		if strings.Contains(page, roffDash(hidden)) {
			t.Errorf("the page names the hidden flag %s", hidden)
		}
	}
}

// TestManRendersWithoutWarnings renders the page with groff (all warnings
// on) and lints it with mandoc, where installed (.ci/run installs both).
func TestManRendersWithoutWarnings(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dnslb.1")
	if err := os.WriteFile(path, []byte(manPage(t)), 0o644); err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, tool := range [][]string{
		{"groff", "-man", "-Tutf8", "-ww", "-z", path},
		{"mandoc", "-Tlint", "-W", "warning", path},
	} {
		if _, err := exec.LookPath(tool[0]); err != nil {
			continue
		}
		checked++
		out, err := exec.Command(tool[0], tool[1:]...).CombinedOutput()
		if err != nil || len(out) != 0 {
			t.Errorf("%s: %v\n%s", strings.Join(tool, " "), err, out)
		}
	}
	if checked == 0 {
		t.Skip("neither groff nor mandoc installed; .ci/run installs mandoc")
	}
}
