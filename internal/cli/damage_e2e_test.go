package cli_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/store"
	"github.com/dnslb/dnslb/internal/store/boltstore"
)

// writeStore makes a valid dnslb data file in dir holding zone lb.test
// with n weighted sets, written straight through the store.
func writeStore(t *testing.T, dir string, n int) string {
	t.Helper()
	path := filepath.Join(dir, "dnslb.db")
	st, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now().UTC()
	ctx := context.Background()
	if _, err := st.Update(ctx, func(tx store.Tx) error {
		z := record.NewZone("lb.test.")
		z.Created = now
		return tx.PutZone(z)
	}); err != nil {
		t.Fatal(err)
	}
	const batch = 5000
	for lo := 0; lo < n; lo += batch {
		if _, err := st.Update(ctx, func(tx store.Tx) error {
			for i := lo; i < min(n, lo+batch); i++ {
				s := record.Set{Key: record.Key{Zone: "lb.test.", Name: fmt.Sprintf("h%d.lb.test.", i), Type: record.A, SetID: "i-1"},
					Weight: 10, TTL: 60, Values: []string{fmt.Sprintf("127.0.%d.%d", i/250%250, i%250+1)},
					State: record.Active, Created: now, Updated: now}
				if err := tx.PutSet(s); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// serveOnce runs `dnslb serve` on data as a subprocess and returns its exit
// code and stderr; it fails the test when serve does not exit by itself.
func serveOnce(t *testing.T, data string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "serve", "--dns", "127.0.0.14:0", "--api", "127.0.0.14:0", "--data", data)
	cmd.Env = append(os.Environ(), "DNSLB_TEST_MAIN=1")
	out, _ := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("dnslb serve on a damaged file kept running:\n%s", out)
	}
	return cmd.ProcessState.ExitCode(), string(out)
}

// TestServeDamagedFile: each kind of damage ends serve with exit 1 and a
// message that says the file is damaged and how to restore it, never
// with a panic or a fault inside bbolt.
func TestServeDamagedFile(t *testing.T) {
	for _, tc := range []struct {
		name   string
		sets   int
		damage func(t *testing.T, path string)
	}{
		{"first 8 KiB", 100, func(t *testing.T, path string) { truncate(t, path, 8<<10) }},
		{"large file cut to 1 MB", 20000, func(t *testing.T, path string) { truncate(t, path, 1<<20) }},
		{"one page overwritten", 20000, func(t *testing.T, path string) { overwritePage(t, path, 1) }},
		{"another page overwritten", 20000, func(t *testing.T, path string) { overwritePage(t, path, 2) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := t.TempDir()
			path := writeStore(t, data, tc.sets)
			tc.damage(t, path)
			code, out := serveOnce(t, data)
			t.Logf("exit %d:\n%s", code, out)
			if code != 1 || !strings.Contains(out, "data file damaged") || !strings.Contains(out, "dnslb restore") ||
				strings.Contains(out, "panic") || strings.Contains(out, "SIGSEGV") || strings.Contains(out, "fault") {
				t.Errorf("serve on a damaged file: exit %d; want 1 with \"data file damaged\" and \"dnslb restore\":\n%.3000s", code, out)
			}
		})
	}
}

func truncate(t *testing.T, path string, size int64) {
	t.Helper()
	if fi, err := os.Stat(path); err != nil || fi.Size() <= size {
		t.Fatalf("data file %v: %d bytes, want more than %d", err, fi.Size(), size)
	}
	if err := os.Truncate(path, size); err != nil {
		t.Fatal(err)
	}
}

// overwritePage fills one page that holds data (a branch or leaf page of
// the sets, chosen with seed) with random bytes.
func overwritePage(t *testing.T, path string, seed uint64) {
	t.Helper()
	pages := dataPages(t, path)
	rnd := rand.New(rand.NewPCG(seed, seed))
	id := pages[rnd.IntN(len(pages))]
	buf := make([]byte, 4096)
	for i := range buf {
		buf[i] = byte(rnd.Uint32())
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(buf, int64(id)*4096); err != nil {
		t.Fatal(err)
	}
}

// dataPages lists the branch and leaf pages of path.
func dataPages(t *testing.T, path string) []int {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, PreLoadFreelist: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var ids []int
	err = db.View(func(tx *bolt.Tx) error {
		for id := 2; ; id++ {
			p, err := tx.Page(id)
			if err != nil || p == nil {
				return err
			}
			if p.Type == "leaf" || p.Type == "branch" {
				ids = append(ids, id)
			}
		}
	})
	if err != nil || len(ids) == 0 {
		t.Fatalf("pages of %s: %v, %d data pages", path, err, len(ids))
	}
	return ids
}
