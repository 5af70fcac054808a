package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/dnslb/dnslb/internal/store/boltstore"
)

// BackupCmd copies a running server's data file.
type BackupCmd struct {
	File string `arg:"" help:"File to write the backup to; it is checked, then renamed into place, so FILE is whole or absent."`
}

// backupResult is what backup and restore report.
type backupResult struct {
	File     string `json:"file"`
	Revision int64  `json:"revision"`
	Bytes    int64  `json:"bytes,omitempty"`
	Zones    int    `json:"zones"`
	Sets     int    `json:"record_sets"`
	Aside    string `json:"previous_file,omitempty"`
}

// Run downloads the backup beside File, checks it and renames it to File.
func (c *BackupCmd) Run(g *Globals) error {
	cl, err := g.client()
	if err != nil {
		return err
	}
	out, err := os.CreateTemp(filepath.Dir(c.File), "."+filepath.Base(c.File)+".part-*")
	if err != nil {
		return fmt.Errorf("backup file %s: %w", c.File, err)
	}
	defer os.Remove(out.Name()) // after the rename, a no-op
	_, n, err := cl.Backup(g.ctx, out)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	info, err := boltstore.Verify(out.Name())
	if err != nil {
		return fmt.Errorf("the backup received does not check out, nothing written to %s: %w", c.File, err)
	}
	if err := os.Rename(out.Name(), c.File); err != nil {
		return fmt.Errorf("backup file %s: %w", c.File, err)
	}
	res := backupResult{File: c.File, Revision: info.Revision, Bytes: n, Zones: info.Zones, Sets: info.Sets}
	if g.JSON {
		return printJSON(g.stdout, res)
	}
	_, err = fmt.Fprintf(g.stdout, "backup of revision %d (%d zones, %d record sets, %d bytes) written to %s\n",
		res.Revision, res.Zones, res.Sets, res.Bytes, res.File)
	return err
}

// RestoreCmd puts a backup in place of a stopped server's data file.
type RestoreCmd struct {
	File string `arg:"" help:"Backup file to restore (made by dnslb backup)."`
	Data string `default:"./dnslb-data" help:"Data directory of the server (holds dnslb.db). Stop the server first."`
}

// Run checks File and replaces the data file with it, keeping the
// previous one aside.
func (c *RestoreCmd) Run(g *Globals) error {
	if _, err := boltstore.Verify(c.File); err != nil { // before anything is touched
		return fmt.Errorf("%s is no usable backup, nothing restored: %w", c.File, err)
	}
	if err := os.MkdirAll(c.Data, 0o700); err != nil {
		return fmt.Errorf("--data %s: cannot create the data directory: %w", c.Data, err)
	}
	dst := filepath.Join(c.Data, "dnslb.db")
	info, aside, err := boltstore.Replace(dst, c.File, time.Now())
	if errors.Is(err, boltstore.ErrInUse) {
		return fmt.Errorf("--data %s: %w", c.Data, err)
	}
	if err != nil {
		return fmt.Errorf("restore %s into %s: %w", c.File, dst, err)
	}
	res := backupResult{File: dst, Revision: info.Revision, Zones: info.Zones, Sets: info.Sets, Aside: aside}
	if g.JSON {
		return printJSON(g.stdout, res)
	}
	fmt.Fprintf(g.stdout, "restored revision %d (%d zones, %d record sets) from %s into %s\n", res.Revision, res.Zones, res.Sets, c.File, dst)
	if aside != "" {
		fmt.Fprintf(g.stdout, "the previous data file is kept as %s\n", aside)
	}
	return nil
}
