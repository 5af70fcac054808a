package cli_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dnslb/dnslb/internal/cli"
)

// TestServeBadStoreFlags: a bad store flag exits 2 with a message naming
// it, before anything is created.
func TestServeBadStoreFlags(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	etcd := "--store=etcd://127.0.0.1:2379"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--store=http://127.0.0.1:2379"}, `--store "http://127.0.0.1:2379": allowed etcd://HOST:PORT[,HOST:PORT...], or nothing for the bbolt file under --data`},
		{[]string{"--store=etcd://127.0.0.1:2379,127.0.0.2"}, `--store "etcd://127.0.0.1:2379,127.0.0.2": endpoint "127.0.0.2": want HOST:PORT (like 127.0.0.1:2379)`},
		{[]string{"--store=etcd://:2379"}, `--store "etcd://:2379": endpoint ":2379": want HOST:PORT (like 127.0.0.1:2379)`},
		{[]string{"--store=etcd://127.0.0.1:70000"}, `endpoint "127.0.0.1:70000": want HOST:PORT`},
		{[]string{etcd, "--etcd-prefix=dnslb"}, `--etcd-prefix "dnslb": must start and end with / (like /dnslb/)`},
		{[]string{etcd, "--etcd-cert=" + empty}, "--etcd-cert and --etcd-key go together"},
		{[]string{etcd, "--etcd-user=dnslb"}, "--etcd-user needs a password (--etcd-password-file or DNSLB_ETCD_PASSWORD), and a password needs --etcd-user"},
		{[]string{etcd, "--etcd-password=x"}, "--etcd-user needs a password"},
		{[]string{etcd, "--etcd-user=u", "--etcd-password=x", "--etcd-password-file=" + empty}, "--etcd-password (or DNSLB_ETCD_PASSWORD) and --etcd-password-file: give one"},
		{[]string{"--etcd-ca=" + empty}, "--etcd-ca needs --store etcd://HOST:PORT[,...]"},
		{[]string{etcd, "--etcd-user=u", "--etcd-password-file=" + empty}, "--etcd-password-file " + empty + ": the file is empty"},
		{[]string{etcd, "--etcd-ca=" + empty}, "--etcd-ca " + empty + ": no PEM certificate in the file"},
		{[]string{etcd, "--etcd-ca=" + filepath.Join(dir, "missing")}, "--etcd-ca: open " + filepath.Join(dir, "missing") + ": no such file or directory"},
	} {
		data := filepath.Join(t.TempDir(), "data")
		var o, e bytes.Buffer
		args := append([]string{"serve", "--dns", "127.0.0.13:0", "--api", "127.0.0.13:0", "--data", data}, tc.args...)
		code := cli.Main(args, &o, &e)
		if code != 2 || !strings.Contains(e.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and %q", tc.args, code, e.String(), tc.want)
		}
		if _, err := os.Stat(data); !os.IsNotExist(err) {
			t.Errorf("%v: the data directory was created (%v)", tc.args, err)
		}
	}
}
