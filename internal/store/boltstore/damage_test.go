package boltstore_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/store"
	"github.com/dnslb/dnslb/internal/store/boltstore"
)

// fillStore writes zone lb.test. with n sets to a new file and returns its
// bytes.
func fillStore(t *testing.T, n int) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "dnslb.db")
	st := mustOpen(t, path, boltstore.Options{})
	putZones(t, st, "lb.test.")
	if _, err := st.Update(context.Background(), func(tx store.Tx) error {
		for i := range n {
			s := record.Set{Key: record.Key{Zone: "lb.test.", Name: fmt.Sprintf("h%d.lb.test.", i), Type: record.A, SetID: "i-1"},
				Weight: 10, TTL: 60, Values: []string{"127.0.0.1"}}
			if err := tx.PutSet(s); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestOpenDamaged overwrites each page of a file in turn with random
// bytes, and truncates it at several lengths: Open either works and every
// set reads back, or fails with ErrDamaged. It never panics or faults.
func TestOpenDamaged(t *testing.T) {
	const n, page = 600, 4096
	good := fillStore(t, n)
	dir := t.TempDir()
	rnd := rand.New(rand.NewPCG(1, 2))
	var opened, refused int
	try := func(what string, data []byte) {
		path := filepath.Join(dir, "dnslb.db")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		st, err := boltstore.Open(path, boltstore.Options{})
		if err != nil {
			if !errors.Is(err, boltstore.ErrDamaged) {
				t.Errorf("%s: Open: %v; want ErrDamaged", what, err)
			}
			refused++
			return
		}
		defer st.Close()
		opened++
		if _, err := st.View(context.Background(), func(tx store.ReadTx) error {
			sets, err := tx.Sets("lb.test.", "")
			if err == nil && len(sets) != n {
				err = fmt.Errorf("%d sets, want %d", len(sets), n)
			}
			return err
		}); err != nil && !errors.Is(err, boltstore.ErrDamaged) {
			t.Errorf("%s: opened, then reading: %v", what, err)
		}
	}
	for p := 0; p < len(good)/page; p++ {
		data := append([]byte(nil), good...)
		for i := p * page; i < (p+1)*page; i++ {
			data[i] = byte(rnd.Uint32())
		}
		try(fmt.Sprintf("page %d overwritten", p), data)
	}
	for _, size := range []int{1, 100, page, 2 * page, 3 * page, len(good) / 2, len(good) - page, len(good) - 1} {
		try(fmt.Sprintf("cut to %d bytes", size), good[:size])
	}
	t.Logf("%d pages of %d bytes: opened %d damaged files, refused %d", len(good)/page, page, opened, refused)
}
