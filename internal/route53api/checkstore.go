package route53api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/registry"
	"github.com/dnslb/dnslb/internal/store"
)

// The Route 53 health checks (configuration, version, tags, caller
// reference) are documents of the store (store.Docs) of kind checkKind,
// one per check, JSON: every server sharing the store sees the same
// checks, they are in every backup, and they change in the transaction
// that rewrites the record sets carrying them. What DNS answers depend on
// is in those sets, which carry a copy of their check (record.Check with
// its ID).

// checkKind is the kind of the documents that keep health checks.
const checkKind = "route53-healthcheck"

// storedCheck is one health check as kept.
type storedCheck struct {
	ID              string            `json:"id"`
	CallerReference string            `json:"caller_reference"`
	Version         int64             `json:"version"`
	Config          healthCheckConfig `json:"config"`
	Tags            map[string]string `json:"tags,omitempty"`
}

// readCheck reads check id; NoSuchHealthCheck when there is none.
func readCheck(d store.Docs, id string) (storedCheck, error) {
	var sc storedCheck
	if store.CheckDocName(checkKind, id) != nil {
		return sc, noSuchCheck(id)
	}
	data, err := d.Doc(checkKind, id)
	if errors.Is(err, store.ErrNotFound) {
		return sc, noSuchCheck(id)
	}
	if err != nil {
		return sc, err
	}
	if err := json.Unmarshal(data, &sc); err != nil {
		return sc, fmt.Errorf("route53 health check %s: %w", id, err)
	}
	return sc, nil
}

// readChecks reads every check, by id.
func readChecks(d store.Docs) ([]storedCheck, error) {
	docs, err := d.DocsOf(checkKind)
	if err != nil {
		return nil, err
	}
	out := make([]storedCheck, len(docs))
	for i, doc := range docs {
		if err := json.Unmarshal(doc.Data, &out[i]); err != nil {
			return nil, fmt.Errorf("route53 health check %s: %w", doc.ID, err)
		}
	}
	return out, nil
}

// writeCheck creates or replaces sc.
func writeCheck(d store.Docs, sc *storedCheck) error {
	data, err := json.Marshal(sc)
	if err != nil {
		return err
	}
	return d.PutDoc(checkKind, sc.ID, data)
}

// check reads check id in a View.
func (h *Handler) check(ctx context.Context, id string) (sc storedCheck, err error) {
	err = h.opts.Registry.ViewDocs(ctx, func(_ store.ReadTx, d store.Docs) error {
		sc, err = readCheck(d, id)
		return err
	})
	return sc, err
}

// checks reads every check in a View.
func (h *Handler) checks(ctx context.Context) (out []storedCheck, err error) {
	err = h.opts.Registry.ViewDocs(ctx, func(_ store.ReadTx, d store.Docs) error {
		out, err = readChecks(d)
		return err
	})
	return out, err
}

// updateChecks is Registry.UpdateDocs, a change that commits but is not
// yet in this server's answers counting as done (GetChange tells).
func (h *Handler) updateChecks(ctx context.Context, fn func(tx store.ReadTx, d store.Docs) (map[string][]registry.Change, error)) error {
	_, err := h.opts.Registry.UpdateDocs(ctx, fn)
	if errors.Is(err, registry.ErrNotVisible) {
		return nil
	}
	return err
}

// rewriteCheck is the record sets, in every zone that takes writes,
// whose check is id, as changes giving them the check rc (none when nil),
// by zone.
func rewriteCheck(tx store.ReadTx, id string, rc *record.Check) (map[string][]registry.Change, error) {
	zones, err := tx.Zones()
	if err != nil {
		return nil, err
	}
	out := map[string][]registry.Change{}
	for _, z := range zones {
		if z.Deleting {
			continue
		}
		sets, err := tx.Sets(z.Name, "")
		if err != nil {
			return nil, err
		}
		for _, s := range sets {
			if s.Check == nil || s.Check.ID != id {
				continue
			}
			s.Check = nil
			if rc != nil {
				cp := *rc
				s.Check = &cp
			}
			out[z.Name] = append(out[z.Name], registry.Change{Action: registry.Upsert, Set: s})
		}
	}
	return out, nil
}

// taggedCheck is check id as a resource with tags.
func (h *Handler) taggedCheck(ctx context.Context, id string) (tagged, error) {
	sc, err := h.check(ctx, id)
	if err != nil {
		return tagged{}, err
	}
	return tagged{tags: sc.Tags, change: func(fn func(map[string]string) error) error {
		return h.updateChecks(ctx, func(_ store.ReadTx, d store.Docs) (map[string][]registry.Change, error) {
			sc, err := readCheck(d, id)
			if err != nil {
				return nil, err
			}
			if sc.Tags == nil {
				sc.Tags = map[string]string{}
			}
			if err := fn(sc.Tags); err != nil {
				return nil, err
			}
			return nil, writeCheck(d, &sc)
		})
	}}, nil
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
