package cli_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/dnslb/dnslb/internal/cli"
)

// writeConfigFile writes text to a file of mode perm in a new directory.
func writeConfigFile(t *testing.T, name, text string, perm os.FileMode) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(text), perm); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestServeConfigFile: `dnslb serve --config F` takes its addresses, data
// directory and zones from F alone.
func TestServeConfigFile(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	path := writeConfigFile(t, "dnslb.yaml", "# from the file only\ndns: 127.0.0.151:0\napi: 127.0.0.151:0\ndata: "+data+
		"\nzone:\n  - lb.example\ndemo: true\nrrl-exempt: [127.0.0.0/8]\nlameduck: 0s\n", 0o600)
	cmd := exec.Command(os.Args[0], "serve", "--config", path)
	cmd.Env = append(os.Environ(), "DNSLB_TEST_MAIN=1")
	s := startServerCmd(t, cmd)
	if !strings.HasPrefix(s.dns, "127.0.0.151:") || !strings.HasPrefix(s.api, "127.0.0.151:") {
		t.Errorf("serving on dns %s, api %s; want the file's 127.0.0.151", s.dns, s.api)
	}
	if r := s.query(t, "www.lb.test.", dns.TypeA, "udp"); r.Rcode != dns.RcodeSuccess || len(r.Answer) == 0 {
		t.Errorf("demo www.lb.test: %v", r)
	}
	if r := s.query(t, "lb.example.", dns.TypeSOA, "tcp"); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
		t.Errorf("zone lb.example of the file: %v", r)
	}
	if _, err := os.Stat(filepath.Join(data, "dnslb.db")); err != nil {
		t.Errorf("data directory of the file: %v", err)
	}
	s.stop(t)
}

// TestAgentConfigFile: `dnslb agent --config F` registers with a real
// server, with every setting from F, and drains on SIGTERM.
func TestAgentConfigFile(t *testing.T) {
	s := startServer(t, "127.0.0.152", t.TempDir(), "--zone", "lb.test")
	path := writeConfigFile(t, "dnslb-agent.yaml", "server:\n  - http://"+s.api+"\nzone: lb.test\nname: app\nidentity: static\n"+
		"set-id: cfg-1\naddress: 127.0.0.153\nweight: 7\nttl: 1\nlease: 3s\ndrain-margin: 0s\nrenew: http\n", 0o600)
	a := startAgent(t, nil, "--config", path)
	answers := func() []dns.RR { return s.query(t, "app.lb.test.", dns.TypeA, "udp").Answer }
	eventually(t, 20*time.Second, "app.lb.test answering 127.0.0.153", func() bool {
		ans := answers()
		return len(ans) == 1 && ans[0].(*dns.A).A.String() == "127.0.0.153"
	})
	if out := s.run(t, "record", "ls", "lb.test"); !strings.Contains(out, "cfg-1") || !strings.Contains(out, " 7 ") {
		t.Errorf("record ls lacks set cfg-1 of weight 7:\n%s", out)
	}
	if err := a.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	a.waitExit(t, 30*time.Second)
	if code := a.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("agent exit %d:\n%s", code, a.out)
	}
	if ans := answers(); len(ans) != 0 {
		t.Errorf("after the drain, app.lb.test answers %v", ans)
	}
}

// configCheck runs `dnslb config check` in-process.
func configCheck(args ...string) (stdout, stderr string, code int) {
	var o, e bytes.Buffer
	code = cli.Main(append([]string{"config", "check"}, args...), &o, &e)
	return o.String(), e.String(), code
}

// rows are the lines of out with their runs of spaces made one.
func rows(out string) map[string]bool {
	m := map[string]bool{}
	for _, line := range strings.Split(out, "\n") {
		m[strings.Join(strings.Fields(line), " ")] = true
	}
	return m
}

func TestConfigCheck(t *testing.T) {
	t.Setenv("DNSLB_RRL_RATE", "20")
	path := writeConfigFile(t, "dnslb.yaml", "dns: 127.0.0.1:53\nrrl-rate: 50\nzone: [a.test, b.test]\nlameduck: 90s\n", 0o600)
	out, errOut, code := configCheck("--config", path)
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if first := strings.SplitN(out, "\n", 2)[0]; first != "dnslb serve: settings valid ("+path+")" {
		t.Errorf("first line %q", first)
	}
	got := rows(out)
	for _, want := range []string{"KEY VALUE SOURCE", "dns 127.0.0.1:53 file " + path + ":1", "rrl-rate 20 env DNSLB_RRL_RATE",
		"zone [a.test, b.test] file " + path + ":3", "lameduck 1m30s file " + path + ":4", "api 127.0.0.1:5380 default",
		`tokens "" default`, "demo false default", "check-allow [] default"} {
		if !got[want] {
			t.Errorf("config check lacks row %q:\n%s", want, out)
		}
	}
}

func TestConfigCheckAgentRedacts(t *testing.T) {
	t.Setenv("DNSLB_TOKEN", "env-secret-1")
	path := writeConfigFile(t, "dnslb-agent.yaml", "zone: lb.test\nname: www\nserver: [http://127.0.0.1:5380]\n", 0o644)
	out, _, code := configCheck("--config", path, "agent")
	if code != 0 || !rows(out)["token <redacted> env DNSLB_TOKEN"] || strings.Contains(out, "env-secret-1") {
		t.Errorf("exit %d, the token from the environment not redacted:\n%s", code, out)
	}
	os.Unsetenv("DNSLB_TOKEN")
	path = writeConfigFile(t, "dnslb-agent.yaml", "zone: lb.test\nname: www\ntoken: file-secret-2\n", 0o644)
	out, errOut, code := configCheck("--config", path, "agent", "--json")
	if code != 0 || strings.Contains(out+errOut, "file-secret-2") {
		t.Fatalf("exit %d, token shown:\n%s%s", code, out, errOut)
	}
	want := "dnslb: warning: " + path + ":3: token is a secret, and other users can read this file (mode 0644): chmod o-r " + path +
		", or put the token in a file of its own for token-file\n"
	if errOut != want {
		t.Errorf("stderr %q, want %q", errOut, want)
	}
	var rep struct {
		Command, File string
		Settings      []struct {
			Key, Source, From string
			Value             any
		}
		Warnings []string
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, s := range rep.Settings {
		if s.Key == "token" {
			found = s.Value == "<redacted>" && s.Source == "file" && s.From == path+":3"
		}
	}
	if rep.Command != "agent" || rep.File != path || !found || len(rep.Warnings) != 1 {
		t.Errorf("JSON report %+v", rep)
	}
}

// TestConfigCheckRefuses: config check runs the checks serve and agent
// run at start, names the key and line a bad value came from, and exits 2.
func TestConfigCheckRefuses(t *testing.T) {
	for _, c := range []struct{ cmd, file, want string }{
		{"serve", "heartbeat: nowhere\n", `dnslb: --heartbeat "nowhere": allowed dns, off, or HOST:PORT (heartbeat from F:1)`},
		{"serve", "rrl-rat: 5\n", `dnslb: F:1: unknown key "rrl-rat" for dnslb serve; did you mean rrl-rate?`},
		{"agent", "zone: z\nname: n\nweight: 300\n", "dnslb: --weight 300: allowed 0..255 (weight from F:3)"},
		{"agent", "zone: z\n", "dnslb: missing flags: --name=STRING"},
	} {
		path := writeConfigFile(t, "dnslb.yaml", c.file, 0o600)
		out, errOut, code := configCheck("--config", path, c.cmd)
		if got := strings.TrimSpace(strings.ReplaceAll(errOut, path, "F")); code != 2 || out != "" || got != c.want {
			t.Errorf("%q: exit %d, stdout %q, stderr\n%s\nwant\n%s", c.file, code, out, got, c.want)
		}
	}
}

// TestServeConfigRefuses: serve exits 2 on a bad file before writing anything.
func TestServeConfigRefuses(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	path := writeConfigFile(t, "dnslb.yaml", "data: "+data+"\ndns: 127.0.0.151:0\nlameduck: 5\n", 0o600)
	var o, e bytes.Buffer
	code := cli.Main([]string{"serve", "--config", path}, &o, &e)
	want := "dnslb: " + path + `:3: lameduck: want a duration such as "10s", "1m30s" or "0s", got "5"` + "\nRun 'dnslb serve --help' for usage.\n"
	if code != 2 || e.String() != want {
		t.Errorf("exit %d, stderr %q, want %q", code, e.String(), want)
	}
	if _, err := os.Stat(data); !os.IsNotExist(err) {
		t.Errorf("data directory made: %v", err)
	}
}

// TestConfigCheckExamples: the example files in deploy/ are valid as shipped.
func TestConfigCheckExamples(t *testing.T) {
	for file, cmd := range map[string]string{"dnslb.yaml": "serve", "dnslb-agent.yaml": "agent"} {
		if out, errOut, code := configCheck("--config", filepath.Join("..", "..", "deploy", file), cmd); code != 0 {
			t.Errorf("%s: exit %d: %s%s", file, code, errOut, out)
		}
	}
}
