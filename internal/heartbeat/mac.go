package heartbeat

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
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

// maxSigned is the longest message mac signs: a request's signed part.
const maxSigned = signedReq

// mac sets tag to HMAC-SHA256(key, msg) truncated to MACSize bytes (RFC
// 2104; a 32-byte key is padded to the block with zeros). It hashes
// buffers on its own stack with sha256.Sum256, so a MAC costs no
// allocation, no pooled state and no lock shared between the DNS loops
// (crypto/hmac binds its state to one key and allocates it). msg is at
// most maxSigned bytes.
func mac(key *Key, msg []byte, tag *[MACSize]byte) {
	var inner [sha256.BlockSize + maxSigned]byte
	pad(inner[:sha256.BlockSize], key, 0x36)
	n := sha256.BlockSize + copy(inner[sha256.BlockSize:], msg)
	if n-sha256.BlockSize != len(msg) {
		panic("heartbeat: mac of an overlong message")
	}
	sum := sha256.Sum256(inner[:n])
	var outer [sha256.BlockSize + sha256.Size]byte
	pad(outer[:sha256.BlockSize], key, 0x5c)
	copy(outer[sha256.BlockSize:], sum[:])
	sum = sha256.Sum256(outer[:])
	copy(tag[:], sum[:])
}

// pad sets block to the key, zero-padded, xored with p.
func pad(block []byte, key *Key, p byte) {
	for i := range block {
		block[i] = p
	}
	for i, k := range key {
		block[i] ^= k
	}
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
