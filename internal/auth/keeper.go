package auth

import (
	"sync/atomic"
)

// Keeper holds the tokens of a file and swaps them on Reload, so that a
// reload (SIGHUP) changes them without a restart. A failed reload keeps
// the tokens in use.
type Keeper struct {
	path   string
	tokens atomic.Pointer[Tokens]
}

// Open reads the tokens file at path.
func Open(path string) (*Keeper, error) {
	k := &Keeper{path: path}
	if err := k.Reload(); err != nil {
		return nil, err
	}
	return k, nil
}

// Static returns a Keeper over fixed tokens (tests, embedding).
func Static(ts *Tokens) *Keeper {
	k := &Keeper{}
	k.tokens.Store(ts)
	return k
}

// Reload reads the file again and uses it from now on; on error the
// tokens in use stay.
func (k *Keeper) Reload() error {
	ts, err := ReadFile(k.path)
	if err != nil {
		return err
	}
	k.tokens.Store(ts)
	return nil
}

// Tokens is the tokens in use.
func (k *Keeper) Tokens() *Tokens { return k.tokens.Load() }

// Path is the tokens file.
func (k *Keeper) Path() string { return k.path }
