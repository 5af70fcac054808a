package cli_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/dns"

	"github.com/dnslb/dnslb/internal/cli"
)

// TestBackupRestore takes a backup while writes go on, restores it into
// the stopped server's data directory and checks that the server then
// answers exactly what the backup held: everything written before it, a
// gap-free prefix of what was written during it, nothing written after.
func TestBackupRestore(t *testing.T) {
	data := t.TempDir()
	s := startServer(t, "127.0.0.17", data, "--zone", "lb.test")
	const before = 20
	for i := range before {
		s.run(t, "record", "set", "lb.test", fmt.Sprintf("b%d", i), "A", "--value", fmt.Sprintf("127.0.3.%d", i))
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var during int
	going := make(chan struct{})
	wg.Add(1)
	go func() { // writes while the backup runs, in order
		defer wg.Done()
		defer func() {
			if during < 5 { // failed early: let the test go on to fail
				close(going)
			}
		}()
		for ; ; during++ {
			if during == 5 {
				close(going)
			}
			select {
			case <-stop:
				return
			default:
			}
			if _, errOut, code := s.try("record", "set", "lb.test", fmt.Sprintf("d%d", during), "A", "--value", "127.0.4.1"); code != 0 {
				t.Errorf("write during backup: %s", errOut)
				return
			}
		}
	}()
	stopWriter := sync.OnceFunc(func() { close(stop); wg.Wait() })
	defer stopWriter() // also when the test fails below
	<-going
	file := filepath.Join(t.TempDir(), "backup.db")
	out := s.run(t, "backup", file)
	stopWriter()
	if !strings.HasPrefix(out, "backup of revision ") || !strings.Contains(out, "written to "+file) {
		t.Errorf("backup printed %q", out)
	}
	s.run(t, "record", "set", "lb.test", "after", "A", "--value", "127.0.5.1")

	_, errOut, code := s.try("restore", file, "--data", data)
	if code != 1 || !strings.Contains(errOut, "stop the dnslb serve using it first") {
		t.Errorf("restore while serving: exit %d, %q", code, errOut)
	}
	s.stop(t)
	out = s.run(t, "restore", file, "--data", data)
	if !strings.Contains(out, "the previous data file is kept as "+filepath.Join(data, "dnslb.db.before-restore-")) {
		t.Errorf("restore printed %q", out)
	}
	s = startServer(t, "127.0.0.17", data)
	has := func(name string) bool {
		return s.query(t, name+".lb.test.", dns.TypeA, "udp").Rcode == dns.RcodeSuccess
	}
	for i := range before {
		if !has(fmt.Sprintf("b%d", i)) {
			t.Errorf("b%d, written before the backup, is missing after the restore", i)
		}
	}
	kept := 0
	for kept < during && has(fmt.Sprintf("d%d", kept)) {
		kept++
	}
	for i := kept; i < during; i++ {
		if has(fmt.Sprintf("d%d", i)) {
			t.Errorf("d%d is restored but d%d, written before it, is not: the backup is not consistent", i, kept)
		}
	}
	if has("after") {
		t.Error("a set written after the backup is restored")
	}
	t.Logf("%d sets written during the backup, %d of them in it", during, kept)
	s.stop(t)
}

// TestRestoreRefusesBadFile: a file that is not a whole dnslb data file
// is refused, and the data directory is left as it was.
func TestRestoreRefusesBadFile(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	good := writeStore(t, t.TempDir(), 10)
	raw, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, body, want string }{
		{"garbage.db", "not a data file\n", "is no usable backup, nothing restored: data file damaged"},
		{"cut.db", string(raw[:len(raw)/2]), "(truncated)"},
		{"empty.db", "", "it is empty"},
	} {
		path := filepath.Join(dir, tc.name)
		if err := os.WriteFile(path, []byte(tc.body), 0o600); err != nil {
			t.Fatal(err)
		}
		var o, e bytes.Buffer
		code := cli.Main([]string{"restore", path, "--data", data}, &o, &e)
		if code != 1 || !strings.Contains(e.String(), tc.want) {
			t.Errorf("restore %s: exit %d, %q; want 1 and %q", tc.name, code, e.String(), tc.want)
		}
	}
	if _, err := os.Stat(data); !os.IsNotExist(err) {
		t.Errorf("a refused restore created %s (%v)", data, err)
	}
}
