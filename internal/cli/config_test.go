package cli

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/alecthomas/kong"
)

// writeConfig writes text to a config file of mode perm and returns its path.
func writeConfig(t *testing.T, text string, perm os.FileMode) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "dnslb.yaml")
	if err := os.WriteFile(path, []byte(text), perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, perm); err != nil { // past the umask
		t.Fatal(err)
	}
	return path
}

// parseArgs parses args as Main does, without running the command.
func parseArgs(args ...string) (*root, *kong.Context, error) {
	cli := &root{config: &configResolver{}}
	cli.stdout, cli.stderr = io.Discard, io.Discard
	parser, err := newParser(cli, kong.Exit(func(int) {}))
	if err != nil {
		return nil, nil, err
	}
	kctx, err := parser.Parse(args)
	return cli, kctx, err
}

// parseConfigFile parses "cmd --config FILE args..." with text in FILE.
func parseConfigFile(t *testing.T, text, cmd string, args ...string) (*root, *kong.Context, error) {
	t.Helper()
	path := writeConfig(t, text, 0o600)
	return parseArgs(append([]string{cmd, "--config", path}, args...)...)
}

// source is where the flag called name of kctx got its value.
func source(t *testing.T, cli *root, kctx *kong.Context, name string) string {
	t.Helper()
	f := findFlag(kctx.Flags(), name)
	if f == nil {
		t.Fatalf("no flag %s", name)
	}
	s, _ := sourceOf(kctx, f, cli.config.file)
	return s
}

func TestConfigPrecedence(t *testing.T) {
	file := "rrl-rate: 20\ndns: 127.0.0.1:53\nlameduck: 7s\nzone: [file.test]\n"
	for _, c := range []struct {
		name       string
		file       string
		env        map[string]string
		args       []string
		rate       int
		dns        string
		lameduck   time.Duration
		zones      []string
		rateSource string
	}{
		{"defaults", "", nil, nil, 100, "127.0.0.1:5300", 0, nil, "default"},
		{"file", file, nil, nil, 20, "127.0.0.1:53", 7 * time.Second, []string{"file.test"}, "file"},
		{"env over file", file, map[string]string{"DNSLB_RRL_RATE": "30", "DNSLB_LAMEDUCK": "8s", "DNSLB_ZONE": "env.test"}, nil,
			30, "127.0.0.1:53", 8 * time.Second, []string{"env.test"}, "env"},
		{"env alone", "", map[string]string{"DNSLB_RRL_RATE": "30", "DNSLB_DNS": "127.0.0.2:53"}, nil,
			30, "127.0.0.2:53", 0, nil, "env"},
		{"flag over env and file", file, map[string]string{"DNSLB_RRL_RATE": "30", "DNSLB_DNS": "127.0.0.2:53"},
			[]string{"--rrl-rate", "40", "--dns", "127.0.0.3:53", "--zone", "a.test", "--zone", "b.test"},
			40, "127.0.0.3:53", 7 * time.Second, []string{"a.test", "b.test"}, "flag"},
		{"flag over file", file, nil, []string{"--lameduck", "9s"}, 20, "127.0.0.1:53", 9 * time.Second, []string{"file.test"}, "file"},
	} {
		t.Run(c.name, func(t *testing.T) {
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			cli, kctx, err := parseConfigFile(t, c.file, "serve", c.args...)
			if err != nil {
				t.Fatal(err)
			}
			s := cli.Serve
			if s.RRLRate != c.rate || s.DNS != c.dns || s.Lameduck != c.lameduck || !reflect.DeepEqual(s.Zone, c.zones) {
				t.Errorf("rrl-rate %d, dns %s, lameduck %s, zone %q; want %d, %s, %s, %q",
					s.RRLRate, s.DNS, s.Lameduck, s.Zone, c.rate, c.dns, c.lameduck, c.zones)
			}
			if got := source(t, cli, kctx, "rrl-rate"); got != c.rateSource {
				t.Errorf("rrl-rate from %s, want %s", got, c.rateSource)
			}
		})
	}
}

func TestConfigAgentKeys(t *testing.T) {
	t.Setenv("DNSLB_SERVER", "") // unset below for this test; t.Setenv restores it
	os.Unsetenv("DNSLB_SERVER")
	cli, _, err := parseConfigFile(t, "server:\n  - http://127.0.0.1:1\n  - http://127.0.0.1:2\nzone: lb.test\nname: www\n"+
		"weight: 20\nlease: 1m30s\ncheck-interval: 500ms\nidentity: static\nset-id: a\naddress: 127.0.0.1\ntoken-file: /x\n", "agent")
	if err != nil {
		t.Fatal(err)
	}
	a := cli.Agent
	if !reflect.DeepEqual(cli.Server, []string{"http://127.0.0.1:1", "http://127.0.0.1:2"}) || a.Zone != "lb.test" || a.Name != "www" ||
		a.Weight != 20 || a.Lease != 90*time.Second || a.CheckInterval != 500*time.Millisecond || cli.TokenFile != "/x" {
		t.Errorf("agent settings: servers %q, %+v", cli.Server, a)
	}
}

func TestConfigLists(t *testing.T) {
	for _, c := range []struct{ file, key string }{
		{"rrl-exempt: [10.0.0.0/8, 192.168.0.0/16]\n", "rrl-exempt"},
		{"rrl-exempt:\n  - 10.0.0.0/8\n  - 192.168.0.0/16\n", "rrl-exempt"},
		{"rrl-exempt: 10.0.0.0/8,192.168.0.0/16\n", "rrl-exempt"}, // as on the command line
	} {
		cli, _, err := parseConfigFile(t, c.file, "serve")
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"10.0.0.0/8", "192.168.0.0/16"}; !reflect.DeepEqual(cli.Serve.RRLExempt, want) {
			t.Errorf("%q: %q, want %q", c.file, cli.Serve.RRLExempt, want)
		}
	}
	cli, _, err := parseConfigFile(t, "zone: a,b.test\n", "serve") // zone: sep none
	if err != nil || !reflect.DeepEqual(cli.Serve.Zone, []string{"a,b.test"}) {
		t.Errorf("zone %q, %v", cli.Serve.Zone, err)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []struct{ cmd, file, want string }{
		{"serve", "dns: 127.0.0.1:53\nrrl-rat: 20\n", `F:2: unknown key "rrl-rat" for dnslb serve; did you mean rrl-rate?`},
		{"serve", "rrl_rate: 20\n", `F:1: unknown key "rrl_rate" for dnslb serve; did you mean rrl-rate?`},
		{"serve", "--dns: x\n", `F:1: unknown key "--dns" for dnslb serve; did you mean dns?`},
		{"serve", "colour: blue\n", `F:1: unknown key "colour" for dnslb serve; the keys are the flags of 'dnslb serve --help', without the dashes`},
		{"serve", "config: /etc/x\n", `F:1: unknown key "config" for dnslb serve; the keys are the flags of 'dnslb serve --help', without the dashes`},
		{"serve", "weight: 10\n", `F:1: unknown key "weight" for dnslb serve, but a key of dnslb agent: is this the agent's file? (dnslb config check --config FILE agent)`},
		{"agent", "zone: z\nname: n\nrrl-rate: 1\n", `F:3: unknown key "rrl-rate" for dnslb agent, but a key of dnslb serve: is this the serve's file? (dnslb config check --config FILE serve)`},
		{"serve", "rrl-rate: fast\n", `F:1: rrl-rate: want a whole number, got "fast"`},
		{"serve", "rrl-rate: 1.5\n", `F:1: rrl-rate: want a whole number, got "1.5"`},
		{"serve", "lameduck: 5\n", `F:1: lameduck: want a duration such as "10s", "1m30s" or "0s", got "5"`},
		{"serve", "lameduck: soon\n", `F:1: lameduck: want a duration such as "10s", "1m30s" or "0s", got "soon"`},
		{"serve", "demo: maybe\n", `F:1: demo: want true or false, got "maybe"`},
		{"serve", "log-format: xml\n", `F:1: log-format: "xml" is not allowed; allowed: text, json`},
		{"serve", "dns: [a, b]\n", `F:1: dns: takes one value, not a list; want a string`},
		{"serve", "dns:\n  host: x\n", `F:1: dns: want a string, not a mapping`},
		{"serve", "dns:\n", `F:1: dns: no value; give a string, or remove the key`},
		{"serve", "zone: [a.test, [b]]\n", `F:1: zone: line 1: a list item must be one value; want a string, or a list of them`},
		{"serve", "zone: a.test\nzone: b.test\n", `F:2: zone: given twice (first on line 1)`},
		{"serve", "- dns\n", `F:1: want a mapping of flag names to values, e.g. "dns: 0.0.0.0:53"`},
		{"serve", "dns: x\n---\napi: y\n", `F:2: a second YAML document; the file holds one mapping of flag names to values`},
		{"serve", "dns: [x\n", `F: line 1: did not find expected ',' or ']'`},
		{"serve", "rrl-rate: x\nfoo: 1\n", "F:1: rrl-rate: want a whole number, got \"x\"\nF:2: unknown key \"foo\" for dnslb serve; the keys are the flags of 'dnslb serve --help', without the dashes"},
	} {
		path := writeConfig(t, c.file, 0o600)
		_, _, err := parseArgs(c.cmd, "--config", path)
		var ue usageError
		if err == nil || !errors.As(err, &ue) {
			t.Errorf("%q: error %v, want a usage error", c.file, err)
			continue
		}
		if got := strings.ReplaceAll(err.Error(), path, "F"); got != c.want {
			t.Errorf("%q:\n got %s\nwant %s", c.file, got, c.want)
		}
	}
}

func TestConfigEmptyFiles(t *testing.T) {
	for _, text := range []string{"", "# nothing yet\n", "~\n", "---\n"} {
		cli, _, err := parseConfigFile(t, text, "serve")
		if err != nil || cli.Serve.DNS != "127.0.0.1:5300" {
			t.Errorf("%q: dns %s, %v", text, cli.Serve.DNS, err)
		}
	}
}

func TestConfigMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "none.yaml")
	_, _, err := parseArgs("serve", "--config", path)
	if want := "--config: open " + path + ": no such file or directory"; err == nil || err.Error() != want {
		t.Errorf("error %v, want %s", err, want)
	}
}

// TestConfigOnlyServeAndAgent: other commands refuse --config, but ignore
// DNSLB_CONFIG, and the variables of serve and agent do not reach them.
func TestConfigOnlyServeAndAgent(t *testing.T) {
	_, _, err := parseArgs("zone", "list", "--config", "/x")
	if want := "--config: only serve and agent read a config file (and 'dnslb config check' checks one)"; err == nil || err.Error() != want {
		t.Errorf("error %v, want %s", err, want)
	}
	t.Setenv("DNSLB_CONFIG", "/nonexistent")
	t.Setenv("DNSLB_WEIGHT", "99")
	t.Setenv("DNSLB_CHECK", "tcp://127.0.0.1:1")
	cli, _, err := parseArgs("record", "set", "lb.test", "www", "A", "--value", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if cli.Record.Set.Weight != nil || cli.Record.Set.Check != "" {
		t.Errorf("record set got weight %v, check %q from the agent's variables", cli.Record.Set.Weight, cli.Record.Set.Check)
	}
}

// TestConfigEarlierUnitEnvironment: the units of earlier releases export
// DNSLB_LAMEDUCK=5 (seconds) and DNSLB_STOP_TIMEOUT=600 and pass the flags
// with a unit; the flags win and the variables are never parsed.
func TestConfigEarlierUnitEnvironment(t *testing.T) {
	for k, v := range map[string]string{"DNSLB_LAMEDUCK": "5", "DNSLB_SHUTDOWN": "5", "DNSLB_OPTS": "--dns 0.0.0.0:53",
		"DNSLB_STOP_TIMEOUT": "600", "DNSLB_CHECK": "", "DNSLB_TTL": "60", "DNSLB_IDENTITY": "ec2"} {
		t.Setenv(k, v)
	}
	cli, _, err := parseArgs("serve", "--lameduck", "5s", "--shutdown", "5s")
	if err != nil || cli.Serve.Lameduck != 5*time.Second {
		t.Errorf("serve: lameduck %s, %v", cli.Serve.Lameduck, err)
	}
	cli, _, err = parseArgs("agent", "--zone", "z", "--name", "n", "--stop-timeout", "600s", "--check", "", "--identity", "ec2")
	if err != nil || cli.Agent.StopTimeout != 600*time.Second {
		t.Errorf("agent: stop timeout %s, %v", cli.Agent.StopTimeout, err)
	}
	os.Unsetenv("DNSLB_SHUTDOWN") // restored by t.Setenv's cleanup
	_, _, err = parseArgs("serve")
	want := `--lameduck: expected duration but got "5": time: missing unit in duration "5" (from envar DNSLB_LAMEDUCK="5")`
	if err == nil || err.Error() != want {
		t.Errorf("serve without --lameduck: %v, want %s", err, want)
	}
}

func TestConfigStateDirEnv(t *testing.T) {
	t.Setenv("STATE_DIRECTORY", "/var/lib/dnslb-agent")
	cli, _, err := parseArgs("agent", "--zone", "z", "--name", "n")
	if err != nil || cli.Agent.StateDir != "/var/lib/dnslb-agent" {
		t.Errorf("state dir %q, %v", cli.Agent.StateDir, err)
	}
	t.Setenv("DNSLB_STATE_DIR", "/srv/agent")
	cli, _, err = parseArgs("agent", "--zone", "z", "--name", "n")
	if err != nil || cli.Agent.StateDir != "/srv/agent" {
		t.Errorf("state dir %q, %v", cli.Agent.StateDir, err)
	}
}

func TestConfigSecretWarning(t *testing.T) {
	text := "zone: z\nname: n\ntoken: s3cret\n"
	for _, c := range []struct {
		perm os.FileMode
		want string
	}{
		{0o600, ""},
		{0o640, ""},
		{0o644, "F:3: token is a secret, and other users can read this file (mode 0644): chmod o-r F, or put the token in a file of its own for token-file"},
	} {
		path := writeConfig(t, text, c.perm)
		cli, _, err := parseArgs("agent", "--config", path)
		if err != nil {
			t.Fatal(err)
		}
		got := strings.ReplaceAll(strings.Join(cli.config.file.warnings, "\n"), path, "F")
		if got != c.want {
			t.Errorf("mode %04o: warning %q, want %q", c.perm, got, c.want)
		}
	}
}

// TestConfigMalformed: whatever the bytes, parsing returns settings or an
// error, never panics.
func TestConfigMalformed(t *testing.T) {
	model := serveModel(t)
	for _, text := range []string{"\x00", "{", "[", "a: b: c", "? [a]\n: b", "&a dns: *a", "dns: *nope",
		"<<: {dns: x}", "!!binary dns: x", "dns: !!int x", "zone: &z [a]\napi-hosts: *z", "\t- x",
		strings.Repeat("[", 10000), "a: &a [*a]", ": x", "'': x", "null: x", "1: x", "true: x"} {
		parseConfigText(t, model, text)
	}
}

func FuzzConfig(f *testing.F) {
	for _, s := range []string{"dns: 127.0.0.1:53\n", "zone: [a, b]\n", "lameduck: 5s\n", "rrl-rate: x\n", "a: &a [*a]"} {
		f.Add(s)
	}
	cli := &root{config: &configResolver{}}
	parser, err := newParser(cli)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, text string) { parseConfigText(t, parser.Model, text) })
}

// serveModel is the model of the command line.
func serveModel(t *testing.T) *kong.Application {
	t.Helper()
	parser, err := newParser(&root{config: &configResolver{}})
	if err != nil {
		t.Fatal(err)
	}
	return parser.Model
}

// parseConfigText parses text as a serve config file and checks that it
// either fails or holds only keys of serve.
func parseConfigText(t *testing.T, model *kong.Application, text string) {
	t.Helper()
	flags := configFlags(model, "serve")
	file, err := parseConfig("F", []byte(text), "serve", flags, otherKeys(model, "serve"))
	if err != nil {
		return
	}
	for key := range file.settings {
		if findFlag(flags, key) == nil {
			t.Errorf("%q: kept key %q", text, key)
		}
	}
}

// commentedSetting is a line "#key: value" of an example file.
var commentedSetting = regexp.MustCompile(`^#(([a-z][a-z0-9-]*): .*)$`)

// TestConfigExamples: the example files in deploy/ hold only keys of their
// command, also the settings they show commented out.
func TestConfigExamples(t *testing.T) {
	for file, cmd := range map[string]string{"dnslb.yaml": "serve", "dnslb-agent.yaml": "agent"} {
		data, err := os.ReadFile(filepath.Join("..", "..", "deploy", file))
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		seen := map[string]bool{}
		for _, line := range strings.Split(string(data), "\n") {
			if m := commentedSetting.FindStringSubmatch(line); m != nil && !seen[m[2]] {
				line = m[1] // a setting commented out
			}
			if key, _, ok := strings.Cut(line, ":"); ok && !strings.HasPrefix(line, "#") && !strings.HasPrefix(line, " ") {
				seen[key] = true
			}
			lines = append(lines, line)
		}
		m := serveModel(t)
		if _, err := parseConfig(file, []byte(strings.Join(lines, "\n")), cmd, configFlags(m, cmd), otherKeys(m, cmd)); err != nil {
			t.Errorf("%s, its settings uncommented: %v", file, err)
		}
	}
}
