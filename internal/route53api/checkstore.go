package route53api

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
)

// HealthChecks keeps the Route 53 health checks: their configuration,
// version and tags, in a JSON file (or in memory when it has no path).
// What DNS answers depend on is not here but in the record sets, which
// carry a copy of their check (record.Check with its ID); this is the
// catalogue Get/List/UpdateHealthCheck read, one per server.
type HealthChecks struct {
	mu   sync.Mutex
	path string
	byID map[string]*storedCheck
}

// storedCheck is one health check as kept.
type storedCheck struct {
	ID              string            `json:"id"`
	CallerReference string            `json:"caller_reference"`
	Version         int64             `json:"version"`
	Config          healthCheckConfig `json:"config"`
	Tags            map[string]string `json:"tags,omitempty"`
}

// OpenHealthChecks reads the health checks kept at path, or starts with
// none when the file does not exist; "" keeps them in memory only.
func OpenHealthChecks(path string) (*HealthChecks, error) {
	hc := &HealthChecks{path: path, byID: map[string]*storedCheck{}}
	if path == "" {
		return hc, nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return hc, nil
	}
	if err != nil {
		return nil, fmt.Errorf("route53 health checks: %w", err)
	}
	var list []*storedCheck
	if err := json.Unmarshal(data, &list); err != nil {
		return nil, fmt.Errorf("route53 health checks %s: %w", path, err)
	}
	for _, c := range list {
		hc.byID[c.ID] = c
	}
	return hc, nil
}

// get returns a copy of check id.
func (hc *HealthChecks) get(id string) (storedCheck, bool) {
	hc.mu.Lock()
	defer hc.mu.Unlock()
	c, ok := hc.byID[id]
	if !ok {
		return storedCheck{}, false
	}
	return c.copy(), true
}

func (c *storedCheck) copy() storedCheck {
	out := *c
	if c.Tags != nil {
		out.Tags = make(map[string]string, len(c.Tags))
		for k, v := range c.Tags {
			out.Tags[k] = v
		}
	}
	return out
}

// list returns copies of every check, by id.
func (hc *HealthChecks) list() []storedCheck {
	hc.mu.Lock()
	defer hc.mu.Unlock()
	out := make([]storedCheck, 0, len(hc.byID))
	for _, c := range hc.byID {
		out = append(out, c.copy())
	}
	slices.SortFunc(out, func(a, b storedCheck) int { return compareStr(a.ID, b.ID) })
	return out
}

func compareStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// update runs fn on check id (nil when absent) under the lock; fn returns
// the check to keep (nil deletes it). The file is written before update
// returns; if writing fails nothing changes.
func (hc *HealthChecks) update(id string, fn func(c *storedCheck) (*storedCheck, error)) error {
	hc.mu.Lock()
	defer hc.mu.Unlock()
	var cur *storedCheck
	if c, ok := hc.byID[id]; ok {
		cp := c.copy()
		cur = &cp
	}
	next, err := fn(cur)
	if err != nil {
		return err
	}
	old, had := hc.byID[id]
	if next == nil {
		delete(hc.byID, id)
	} else {
		hc.byID[next.ID] = next
	}
	if err := hc.save(); err != nil {
		delete(hc.byID, id)
		if had {
			hc.byID[id] = old
		}
		return err
	}
	return nil
}

// save writes every check to the file, atomically.
func (hc *HealthChecks) save() error {
	if hc.path == "" {
		return nil
	}
	list := make([]*storedCheck, 0, len(hc.byID))
	for _, c := range hc.byID {
		list = append(list, c)
	}
	slices.SortFunc(list, func(a, b *storedCheck) int { return compareStr(a.ID, b.ID) })
	data, err := json.MarshalIndent(list, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(hc.path), ".route53-healthchecks-*")
	if err != nil {
		return fmt.Errorf("route53 health checks: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), hc.path)
	}
	if err != nil {
		return fmt.Errorf("route53 health checks: %w", err)
	}
	return nil
}

// newCheckID is an id as Route 53 makes them: a random UUID.
func newCheckID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	s := hex.EncodeToString(b[:])
	return s[:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:]
}
