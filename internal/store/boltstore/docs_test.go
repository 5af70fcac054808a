package boltstore_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/dnslb/dnslb/internal/store"
	"github.com/dnslb/dnslb/internal/store/boltstore"
)

// Documents are in the data file, so a Backup carries them.
func TestBackupCarriesDocs(t *testing.T) {
	ctx := context.Background()
	st := mustOpen(t, filepath.Join(t.TempDir(), "dnslb.db"), boltstore.Options{})
	defer st.Close()
	_, err := st.Update(ctx, func(tx store.Tx) error { return tx.(store.Docs).PutDoc("check", "a", []byte(`{"v":1}`)) })
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := st.Backup(ctx, &buf, nil); err != nil {
		t.Fatal(err)
	}
	copyPath := filepath.Join(t.TempDir(), "copy.db")
	if err := os.WriteFile(copyPath, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	cp := mustOpen(t, copyPath, boltstore.Options{})
	defer cp.Close()
	var got []byte
	_, err = cp.View(ctx, func(tx store.ReadTx) (err error) {
		got, err = tx.(store.Docs).Doc("check", "a")
		return err
	})
	if err != nil || string(got) != `{"v":1}` {
		t.Fatalf("document in the backup = %q, %v", got, err)
	}
}
