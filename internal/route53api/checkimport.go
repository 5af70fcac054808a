package route53api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"

	"github.com/dnslb/dnslb/internal/registry"
	"github.com/dnslb/dnslb/internal/store"
)

// ImportHealthChecks moves the health checks that earlier versions kept
// in a file of the data directory (DATA/route53-healthchecks.json) into
// the store, once: in one transaction, then the file is renamed to
// path+".imported". A check whose id the store has already is kept as the
// store has it. Without the file there is nothing to do. It returns how
// many checks it imported.
func ImportHealthChecks(ctx context.Context, reg *registry.Registry, path string, log *slog.Logger) (int, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("import route53 health checks: %w", err)
	}
	var list []storedCheck
	if err := json.Unmarshal(data, &list); err != nil {
		return 0, fmt.Errorf("import route53 health checks from %s: %w", path, err)
	}
	n := 0
	_, err = reg.UpdateDocs(ctx, func(_ store.ReadTx, d store.Docs) (map[string][]registry.Change, error) {
		n = 0
		for i := range list {
			if _, err := readCheck(d, list[i].ID); err == nil {
				continue
			}
			if err := writeCheck(d, &list[i]); err != nil {
				return nil, err
			}
			n++
		}
		return nil, nil
	})
	if err != nil {
		return 0, fmt.Errorf("import route53 health checks from %s: %w", path, err)
	}
	if err := os.Rename(path, path+".imported"); err != nil {
		return n, fmt.Errorf("import route53 health checks: %w", err)
	}
	log.Info("route53 health checks imported into the store", "file", path, "imported", n, "of", len(list), "renamed_to", path+".imported")
	return n, nil
}
