package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"strings"
)

// Prefixes of the secrets this package makes, so that a leaked one is
// recognisable (secret scanners) and the two kinds are not confused.
const (
	TokenPrefix = "dnslb_t_" // an API bearer token
	SetPrefix   = "dnslb_s_" // a per-set ownership secret
)

// hashPrefix starts every stored hash.
const hashPrefix = "sha256:"

// newSecret returns prefix and 32 random bytes, base64url.
func newSecret(prefix string) string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return prefix + base64.RawURLEncoding.EncodeToString(b[:])
}

// NewToken returns a new random bearer token.
func NewToken() string { return newSecret(TokenPrefix) }

// NewSetSecret returns a new random per-set ownership secret.
func NewSetSecret() string { return newSecret(SetPrefix) }

// Hash is the stored form of a secret: "sha256:" and the hex SHA-256 of
// the secret as sent. Secrets are 256 random bits, so an unsalted fast
// hash is enough: there is nothing to guess.
func Hash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hashPrefix + hex.EncodeToString(sum[:])
}

// SecretMatches reports, in constant time, whether secret hashes to hash.
// An empty hash matches nothing.
func SecretMatches(secret, hash string) bool {
	if hash == "" || secret == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(Hash(secret)), []byte(hash)) == 1
}

// validHash reports whether s is "sha256:" and 64 lowercase hex digits.
func validHash(s string) bool {
	hexPart, ok := strings.CutPrefix(s, hashPrefix)
	if !ok || len(hexPart) != 2*sha256.Size {
		return false
	}
	for _, c := range hexPart {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
