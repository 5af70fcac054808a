package registry

import (
	"errors"
	"fmt"
	"strings"

	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/store"
)

// maxHintIDs is how many set ids a hint lists.
const maxHintIDs = 5

// missingSet is err, the store's answer for a set with key k that it does
// not have (it names the set already), unless k has no set id while its
// name and type hold weighted sets: then the client forgot the set id,
// and the error says so and which there are.
func missingSet(tx store.ReadTx, k record.Key, err error) error {
	if k.SetID != "" || !errors.Is(err, store.ErrNotFound) {
		return err
	}
	sets, lerr := tx.Sets(k.Zone, k.Name)
	if lerr != nil {
		return err
	}
	var ids []string
	for _, s := range sets {
		if s.Type == k.Type && s.Weighted() {
			ids = append(ids, s.SetID)
		}
	}
	n := len(ids)
	switch {
	case n == 0:
		return err
	case n > maxHintIDs:
		ids = append(ids[:maxHintIDs], "…")
	}
	what := "1 weighted set"
	if n > 1 {
		what = fmt.Sprintf("%d weighted sets", n)
	}
	return record.Errorf("set_id", "is required: %s %s has %s (%s); name one", k.Name, k.Type, what, strings.Join(ids, ", "))
}
