package cli_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/dnslb/dnslb/internal/api/client"
)

// startServerOnTmpfs runs `dnslb serve` with its data directory on a
// tmpfs of size bytes, mounted in a mount namespace of its own (unshare
// -m), so the machine's mounts are never touched. The test reaches the
// tmpfs through /proc/PID/root. It skips when not root or without unshare.
func startServerOnTmpfs(t *testing.T, ip string, size int, args ...string) (s *server, dataInNS string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("disk full test: needs root to mount a tmpfs in a private mount namespace")
	}
	if out, err := exec.Command("unshare", "-m", "true").CombinedOutput(); err != nil {
		t.Skipf("disk full test: unshare -m does not work here: %v %s", err, out)
	}
	data := t.TempDir()
	script := `mount -t tmpfs -o size="$1" dnslb-test "$2" && shift 2 && exec "$@"`
	full := append([]string{"-m", "--propagation", "private", "sh", "-c", script, "sh", fmt.Sprint(size), data,
		os.Args[0], "serve", "--dns", ip + ":0", "--api", ip + ":0", "--data", data}, args...)
	cmd := exec.Command("unshare", full...)
	cmd.Env = append(os.Environ(), "DNSLB_TEST_MAIN=1")
	s = startServerCmd(t, cmd)
	return s, filepath.Join("/proc", fmt.Sprint(s.cmd.Process.Pid), "root", data)
}

// fill writes a file in dir until the filesystem is full.
func fill(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill %s: %v", dir, err)
			}
			return path
		}
	}
}

// readyz returns /readyz's status code and body.
func readyz(t *testing.T, s *server) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + s.api + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestDiskFull fills the filesystem of the data file: writes fail with
// 507 storage_full naming the cause and the fix, /readyz says so, DNS
// keeps answering, and once space is freed writes work again and the
// server is ready.
func TestDiskFull(t *testing.T) {
	s, data := startServerOnTmpfs(t, "127.0.0.18", 1<<20, "--zone", "lb.test")
	s.run(t, "record", "set", "lb.test", "www", "A", "--value", "127.0.6.1")
	filler := fill(t, data)
	var failed error
	values := make([]string, 0, 40)
	for i := range 40 {
		values = append(values, "--value", fmt.Sprintf("127.0.7.%d", i+1))
	}
	for i := 0; i < 500 && failed == nil; i++ { // free pages inside the file take some writes first
		_, errOut, code := s.try(append([]string{"record", "set", "lb.test", fmt.Sprintf("h%d", i), "A"}, values...)...)
		if code != 0 {
			failed = errors.New(errOut)
		}
	}
	if failed == nil || !strings.Contains(failed.Error(), "(storage_full)") || !strings.Contains(failed.Error(), "no space left on device") ||
		!strings.Contains(failed.Error(), "free space") {
		t.Fatalf("writes on a full disk: %v; want storage_full naming the cause and the fix\n%s", failed, s.stderr)
	}
	t.Logf("a write on a full disk: %v", failed)
	assertStatus(t, s, http.StatusInsufficientStorage, client.CodeStorageFull)
	if code, body := readyz(t, s); code != http.StatusServiceUnavailable || !strings.Contains(body, "storage full") {
		t.Errorf("/readyz with the disk full: %d %s", code, body)
	}
	if r := s.query(t, "www.lb.test.", dns.TypeA, "udp"); len(r.Answer) != 1 {
		t.Errorf("DNS with the disk full: %v", r)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "/readyz to recover once space is freed", func() bool {
		code, _ := readyz(t, s)
		return code == http.StatusOK
	})
	s.run(t, "record", "set", "lb.test", "again", "A", "--value", "127.0.6.2")
	if r := s.query(t, "again.lb.test.", dns.TypeA, "udp"); len(r.Answer) != 1 {
		t.Errorf("a write after space returned is not answered: %v", r)
	}
	// The failed writes left the file whole: a backup of it checks out.
	s.run(t, "backup", filepath.Join(t.TempDir(), "after-full.db"))
	s.stop(t)
}

// assertStatus makes one more write through the API and checks its
// status and error code.
func assertStatus(t *testing.T, s *server, status int, code string) {
	t.Helper()
	body := `{"name": "probe", "type": "A", "ttl": 60, "values": ["127.0.8.1"]}`
	req, _ := http.NewRequest(http.MethodPut, "http://"+s.api+"/v1/zones/lb.test/rrsets", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var eb client.ErrorBody
	_ = json.NewDecoder(resp.Body).Decode(&eb)
	if resp.StatusCode != status || eb.Error.Code != code {
		t.Errorf("PUT on a full disk: %d %+v; want %d %s", resp.StatusCode, eb.Error, status, code)
	}
}
