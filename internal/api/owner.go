package api

import (
	"net/http"

	"github.com/dnslb/dnslb/internal/api/client"
	"github.com/dnslb/dnslb/internal/auth"
	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/registry"
)

// Ownership of a record set. One register token may be shared by every
// instance of a pool, so the token alone does not tell instances apart:
// the first PUT of a set by a register token makes a random secret,
// answers it once (client.SetResult.SetSecret) and stores only its hash
// with the set (record.Set.OwnerHash). Every later write of that set by a
// register token (renew, drain, delete, re-register) must send the secret
// back in client.SetSecretHeader. Admin tokens need no secret.
//
// A register token may take a set over without its secret only when the
// set's lease has lapsed (state expired): an agent that restarted and
// lost its secret re-registers once its old lease has run out, at most a
// lease later, while no other instance can take a set whose owner still
// renews it. A set written by an admin token has no owner: register
// tokens cannot change it.
//
// A register token limited to one set id (token create --set-id) is a
// token per instance: it is proof enough for that set, with no secret, so
// that one-shot init scripts (agent --once register, then --once
// deregister from another process) work.

// canonicalKey is the key of the set a path names, canonical.
func canonicalKey(zone, name, typ, setID string) (record.Key, error) {
	z, err := record.ZoneName("zone", zone)
	if err != nil {
		return record.Key{}, err
	}
	n, err := record.Canonical("name", name, z)
	if err != nil {
		return record.Key{}, err
	}
	t, err := record.ParseType("type", typ)
	if err != nil {
		return record.Key{}, err
	}
	return record.Key{Zone: z, Name: n, Type: t, SetID: setID}, nil
}

// checkScope checks that tok's patterns and set id cover k.
func checkScope(tok *auth.Token, k record.Key) error {
	switch {
	case k.SetID == "":
		return denied("token %q (scope register) writes weighted sets only: give a set_id; simple sets need an admin token", tok.Name)
	case tok.SetID != "" && k.SetID != tok.SetID:
		return denied("token %q may write set id %q only, not %q", tok.Name, tok.SetID, k.SetID)
	case !tok.MatchName(k.Name):
		return denied("token %q may write names matching %s; %s is not one of them", tok.Name, tok.PatternList(), k.Name)
	}
	return nil
}

// checkOwnKey checks a register token's request about the set its path
// names: in its scope, and proven its own by the set's secret. A set that
// does not exist is left to the handler to answer.
func (s *Server) checkOwnKey(r *http.Request, tok *auth.Token) error {
	k, err := canonicalKey(r.PathValue("zone"), r.PathValue("name"), r.PathValue("type"), r.URL.Query().Get("set_id"))
	if err != nil {
		return err
	}
	if err := checkScope(tok, k); err != nil {
		return err
	}
	if tok.SetID != "" {
		return nil // a token for this one set id is proof enough
	}
	set, err := s.cfg.Registry.Set(r.Context(), k)
	if err != nil {
		return nil
	}
	if set.OwnerHash == "" {
		return denied("set %s was written by an admin token and has no owner; register tokens cannot change it", k)
	}
	if !auth.SecretMatches(r.Header.Get(client.SetSecretHeader), set.OwnerHash) {
		return denied("set %s belongs to the registration that created it: send its secret in %s (answered as set_secret when it was registered), or use an admin token", k, client.SetSecretHeader)
	}
	return nil
}

// ownership is what a register token's PUT of a set needs: the guard that
// checks and records ownership in the write's transaction, and the secret
// it hands out when it makes a new owner.
type ownership struct {
	guard  registry.Guard
	secret string // set by guard when the set gets a new owner
}

// ownPut prepares the PUT of set by r's token. It is nil for admin tokens
// and without tokens.
func (s *Server) ownPut(r *http.Request, set record.Set, policy record.Policy) (*ownership, error) {
	tok := tokenOf(r)
	if tok == nil || tok.Scope == auth.Admin {
		return nil, nil
	}
	k, err := canonicalKey(r.PathValue("zone"), set.Name, string(set.Type), set.SetID)
	if err != nil {
		return nil, err
	}
	if err := checkScope(tok, k); err != nil {
		return nil, err
	}
	if policy != "" {
		return nil, denied("policy is a setting of the whole name, for admin tokens; token %q (scope register) must leave it out", tok.Name)
	}
	lapsed := int64(-1) // the revision of the set as seen lapsed
	if old, err := s.cfg.Registry.Set(r.Context(), k); err == nil && s.lapsed(old) {
		lapsed = old.Revision
	}
	o := &ownership{}
	presented := r.Header.Get(client.SetSecretHeader)
	pinned := tok.SetID != ""
	o.guard = func(old, set *record.Set) error {
		switch {
		case old != nil && old.OwnerHash != "" && (pinned || auth.SecretMatches(presented, old.OwnerHash)):
			set.OwnerHash = old.OwnerHash
		case old == nil || old.Revision == lapsed || pinned:
			o.secret = auth.NewSetSecret()
			set.OwnerHash = auth.Hash(o.secret)
		case old.OwnerHash == "":
			return denied("set %s was written by an admin token and has no owner; register tokens cannot change it", k)
		default:
			return denied("set %s is registered by another instance whose lease is alive: send the set's secret in %s, wait until its lease lapses, or use an admin token", k, client.SetSecretHeader)
		}
		return nil
	}
	return o, nil
}

// lapsed reports whether set's lease has run out.
func (s *Server) lapsed(set record.Set) bool {
	st := s.cfg.Registry.Statuses([]record.Set{set})
	return len(st) == 1 && st[0].State == string(record.Expired)
}

// ownDelete is the guard of a register token's DELETE of a set: the set
// must still be the one whose secret the request carries (checkOwnKey
// checked it before; this holds it in the write's transaction).
func (s *Server) ownDelete(r *http.Request) registry.Guard {
	tok := tokenOf(r)
	if tok == nil || tok.Scope == auth.Admin || tok.SetID != "" {
		return nil
	}
	presented := r.Header.Get(client.SetSecretHeader)
	return func(old, _ *record.Set) error {
		if !auth.SecretMatches(presented, old.OwnerHash) {
			return denied("set %s belongs to the registration that created it: send its secret in %s, or use an admin token", old.Key, client.SetSecretHeader)
		}
		return nil
	}
}
