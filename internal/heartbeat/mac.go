package heartbeat

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"hash"
	"sync"
)

// Key is a set's heartbeat key: it signs heartbeats and their answers.
// It is handed out by HTTP renewals only, and never sent in a heartbeat.
type Key [32]byte

// NewKey returns a random key.
func NewKey() Key {
	var k Key
	_, _ = rand.Read(k[:]) // crypto/rand.Read does not fail
	return k
}

// String is the key in hex, as it is stored and handed out.
func (k Key) String() string { return hex.EncodeToString(k[:]) }

// ParseKey reads a key in hex.
func ParseKey(s string) (Key, error) {
	var k Key
	if len(s) != 2*len(k) {
		return k, fmt.Errorf("heartbeat key: want %d hex digits", 2*len(k))
	}
	if _, err := hex.Decode(k[:], []byte(s)); err != nil {
		return k, fmt.Errorf("heartbeat key: want hex digits")
	}
	return k, nil
}

// KeyIDOf is the id that names key in heartbeats: the first 16 bytes of
// HMAC-SHA256(key, "dnslb heartbeat key id"). Every server derives the
// same id from the stored key, and the id tells nothing of the key.
func KeyIDOf(key *Key) Token {
	var t [MACSize]byte
	mac(key, []byte("dnslb heartbeat key id"), &t)
	return Token(t)
}

// macState is the SHA-256 state one HMAC computation uses, pooled so that
// a MAC costs no allocation and no lock shared between the DNS loops.
type macState struct {
	h   hash.Hash
	pad [sha256.BlockSize]byte
	sum [sha256.Size]byte
}

var macStates = sync.Pool{New: func() any { return &macState{h: sha256.New()} }}

// mac sets tag to HMAC-SHA256(key, msg) truncated to MACSize bytes. (HMAC by hand, RFC 2104, because crypto/hmac binds its state to
// one key: a key of 32 bytes is padded to the block with zeros.)
func mac(key *Key, msg []byte, tag *[MACSize]byte) {
	s := macStates.Get().(*macState)
	s.block(key, 0x36)
	s.h.Write(msg)
	inner := s.h.Sum(s.sum[:0])
	s.block(key, 0x5c)
	s.h.Write(inner)
	copy(tag[:], s.h.Sum(s.sum[:0]))
	macStates.Put(s)
}

// block starts a hash with the key, padded and xored with pad.
func (s *macState) block(key *Key, pad byte) {
	s.h.Reset()
	for i := range s.pad {
		s.pad[i] = pad
	}
	for i, k := range key {
		s.pad[i] ^= k
	}
	s.h.Write(s.pad[:])
}

// appendMAC appends the MAC of msg under key to b.
func appendMAC(b []byte, key *Key, msg []byte) []byte {
	var tag [MACSize]byte
	mac(key, msg, &tag)
	return append(b, tag[:]...)
}

// macEqual reports, in constant time, whether tag is the MAC of msg.
func macEqual(key *Key, msg, tag []byte) bool {
	var want [MACSize]byte
	mac(key, msg, &want)
	return subtle.ConstantTimeCompare(want[:], tag) == 1
}
