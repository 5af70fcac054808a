package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// Memory remembers, in a file of its directory, that this instance drained
// because it is going away, so that an agent started again on the same
// instance and boot (systemd's Restart=, an operator) does not register a
// dying instance. A record of another instance or an earlier boot is
// ignored. Dir "" remembers nothing.
type Memory struct {
	Dir string
}

// MemoryFile is the name of the file in Memory.Dir.
const MemoryFile = "drained.json"

// bootSlack is how far two readings of the boot time of one boot may
// differ (the uptime has a one-second resolution; the clock may be
// adjusted between them).
const bootSlack = 10 * time.Second

// Drained is a remembered drain.
type Drained struct {
	InstanceID string    `json:"instance_id"`
	Boot       time.Time `json:"boot,omitzero"` // when the system booted; zero where unknown
	At         time.Time `json:"at"`
	Reason     string    `json:"reason"`
}

// Path is the file's path, "" when nothing is remembered.
func (m Memory) Path() string {
	if m.Dir == "" {
		return ""
	}
	return filepath.Join(m.Dir, MemoryFile)
}

// Recall returns the drain remembered for instance id in this boot. It
// reports false when there is none, or the record is another instance's or
// an earlier boot's.
func (m Memory) Recall(id string) (Drained, bool, error) {
	if m.Dir == "" {
		return Drained{}, false, nil
	}
	b, err := os.ReadFile(m.Path())
	if errors.Is(err, fs.ErrNotExist) {
		return Drained{}, false, nil
	}
	if err != nil {
		return Drained{}, false, fmt.Errorf("read drain memory: %w", err)
	}
	var d Drained
	if err := json.Unmarshal(b, &d); err != nil {
		return Drained{}, false, fmt.Errorf("drain memory %s: %w (remove the file to start afresh)", m.Path(), err)
	}
	return d, d.InstanceID == id && sameBoot(d, bootTime()), nil
}

// sameBoot reports whether d was written during the boot that started at
// boot; where the boot time is unknown, a record younger than a day counts.
func sameBoot(d Drained, boot time.Time) bool {
	if boot.IsZero() || d.Boot.IsZero() {
		return time.Since(d.At) < 24*time.Hour
	}
	return d.Boot.Sub(boot).Abs() <= bootSlack
}

// Remember records that instance id drained for reason, atomically: a
// crash leaves the old file or the new one, never a part.
func (m Memory) Remember(id, reason string) error {
	if m.Dir == "" {
		return nil
	}
	b, err := json.Marshal(Drained{InstanceID: id, Boot: bootTime(), At: time.Now().UTC(), Reason: reason})
	if err != nil {
		return err
	}
	if err := writeAtomic(m.Path(), b); err != nil {
		return fmt.Errorf("remember the drain: %w", err)
	}
	return nil
}

// writeAtomic writes b to a temporary file beside path, syncs it and
// renames it over path.
func writeAtomic(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // after a successful rename: nothing left to remove
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync() // the rename itself durable; best effort
		d.Close()
	}
	return nil
}
