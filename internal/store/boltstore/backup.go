package boltstore

import (
	"context"
	"fmt"
	"io"
	"os"

	bolt "go.etcd.io/bbolt"

	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/store"
)

// Backup writes a consistent copy of the data file to w, as of one
// revision, through a read transaction: writes go on meanwhile (those that
// must grow the file wait for the copy to end). start, when not nil, is
// called before the first byte with the copy's exact length and revision.
// Backup returns the bytes written; it stops with ctx's error when ctx
// ends.
func (s *Store) Backup(ctx context.Context, w io.Writer, start func(size, rev int64)) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.life.RLock()
	defer s.life.RUnlock()
	if s.closed {
		return 0, store.ErrClosed
	}
	var n int64
	err := s.db.View(func(btx *bolt.Tx) error {
		rev, err := readRev(btx)
		if err != nil {
			return fmt.Errorf("data file %s: %w", s.path, err)
		}
		if start != nil {
			start(btx.Size(), rev)
		}
		n, err = btx.WriteTo(ctxWriter{ctx, w})
		return err
	})
	return n, err
}

// ctxWriter fails its writes once ctx has ended.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}

// Info describes a data file checked by Verify.
type Info struct {
	Revision int64
	Zones    int
	Sets     int
}

// Verify checks that path is a whole, undamaged dnslb data file: the
// checks Open makes, then every zone and record set decoded. It opens the
// file read-only and changes nothing. Its errors wrap ErrDamaged when the
// file is damaged or is no dnslb data file.
func Verify(path string) (Info, error) {
	fi, err := os.Stat(path)
	switch {
	case err != nil:
		return Info{}, err
	case fi.IsDir():
		return Info{}, fmt.Errorf("%s is a directory; give the path of a data file", path)
	case fi.Size() == 0:
		return Info{}, damaged(path, "it is empty")
	}
	if err := checkFile(path, DefaultLockTimeout); err != nil {
		return Info{}, err
	}
	db, err := openBolt(path, &bolt.Options{ReadOnly: true, Timeout: DefaultLockTimeout})
	if err != nil {
		return Info{}, openError(path, err)
	}
	defer db.Close()
	var info Info
	err = db.View(func(btx *bolt.Tx) error { return info.read(path, btx) })
	return info, err
}

// read fills info from btx, failing on anything a dnslb file would not
// hold.
func (info *Info) read(path string, btx *bolt.Tx) error {
	for _, name := range [][]byte{bucketMeta, bucketZones, bucketSets} {
		if btx.Bucket(name) == nil {
			return damaged(path, "it has no %s bucket: it is no dnslb data file", name)
		}
	}
	rev, err := readRev(btx)
	if err != nil {
		return damaged(path, "%v", err)
	}
	info.Revision = rev
	t := readTx{btx: btx}
	zones, err := t.Zones()
	if err != nil {
		return err
	}
	info.Zones = len(zones)
	return btx.Bucket(bucketSets).ForEach(func(k, v []byte) error {
		var s record.Set
		info.Sets++
		return decode(k, v, &s)
	})
}
