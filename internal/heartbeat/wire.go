// Package heartbeat is dnslb's lease renewal over UDP: the cheap path an
// agent takes between HTTP renewals.
//
// An HTTP renewal answers with a heartbeat key id (the "token": 16 bytes
// that name one leased record set), its key and the address to send
// heartbeats to: by default the DNS port itself, where the DNS server's UDP
// loops hand every datagram that starts with the magic "dlhb" to a Handler
// (as a DNS header those bytes are a query with the unassigned opcode 13).
// A heartbeat is one 48-byte datagram carrying the key id, a counter, the
// agent's health and a MAC; the server renews the lease in memory and
// answers with a 36-byte datagram. There is no name to parse, no JSON, no
// TCP connection and no allocation. On one core serving 50k queries/s, 2,000 HTTP renewals a
// second put p99 query latency at 1.7-2.5x that of a control run in which
// the load generator sent its heartbeats nowhere; 2,000 heartbeats a second
// at 0.99-1.00x (bench/leases.sh, bench/RESULTS.md). A heartbeat costs the
// server 8-22 µs of CPU, an HTTP renewal 67 µs (bench/renewcost.sh), both
// measured before version 2; its MACs (verify the request, sign the
// answer) add about 0.65 µs (BenchmarkAnswer, registry BenchmarkBeat).
//
// A heartbeat is authenticated. The HTTP renewal that hands out the
// address also hands out the set's heartbeat key (32 random bytes, made
// once when the set is registered and kept with it in the store, so that
// every server sharing the store can verify) and a counter floor. Only a
// caller allowed to renew the set over HTTP gets them (with API tokens:
// its owner, or an admin). The key never travels in a heartbeat: a
// datagram names it by its key id (KeyIDOf, derived from the key) and
// carries an HMAC-SHA256 of every other byte, truncated to 16 bytes. The
// counter must grow: the agent starts from the floor the server gave it
// and adds one per datagram (a retry too); the server keeps, per set and
// in memory, the highest counter it accepted and drops anything not
// greater, so a captured datagram replayed later renews nothing. A server
// that has not renewed the set over HTTP since it started (a restart, or
// another server sharing the store) knows the key but not the counter: it
// answers a heartbeat that verifies with StatusUnknown, and the agent
// renews over HTTP, which sets the floor to the larger of the highest
// counter seen and the server's clock in nanoseconds. Counters handed out
// before, which grow by one per heartbeat from an earlier floor, are
// below it. Between servers that bound rests on their clocks agreeing
// to within the time since the agent last renewed at the other.
//
// Answers carry the same MAC, with the set's key, so that the agent
// believes only the server. Datagrams that are malformed, of another
// version, name no key known here, fail the MAC or replay a counter get
// no answer at all; the answer is never larger than the request, so the
// port cannot amplify a spoofed source's traffic. Agents that speak
// version 1 therefore get no answer from this server, nor the agents of
// this version from a version-1 server (which hands out no key): they
// renew over HTTP.
//
// Request (48 bytes):
//
//	0   4  magic "dlhb"
//	4   1  version (2)
//	5   1  health: 0 not reported, 1 down, 3 up (bit 0 reported, bit 1 healthy)
//	6   2  reserved, zero
//	8   8  counter (big endian), greater than any the server accepted before
//	16 16  key id
//	32 16  MAC: HMAC-SHA256(key, bytes 0-31), first 16 bytes
//
// Answer (36 bytes):
//
//	0   4  magic "dlhb"
//	4   1  version (2)
//	5   1  status: 0 ok, 1 renew over HTTP (3 server error: no longer sent)
//	6   1  state: 0 active, 1 draining
//	7   1  reserved, zero
//	8   8  counter of the request
//	16  4  lease in milliseconds (big endian), valid with status ok
//	20 16  MAC: HMAC-SHA256(key, bytes 0-19), first 16 bytes
package heartbeat

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// Sizes of the two datagrams, and of their MAC.
const (
	RequestSize = 48
	AnswerSize  = 36
	MACSize     = 16
	Version     = 2
	signedReq   = RequestSize - MACSize
	signedAns   = AnswerSize - MACSize
)

var magic = [4]byte{'d', 'l', 'h', 'b'}

// Token is a key id: it names one leased record set's heartbeat key.
type Token [16]byte

// String is the token in hex, as the HTTP API hands it out.
func (t Token) String() string { return hex.EncodeToString(t[:]) }

// IsZero reports the zero token, which names nothing.
func (t Token) IsZero() bool { return t == Token{} }

// ParseToken reads a token in hex.
func ParseToken(s string) (Token, error) {
	var t Token
	if len(s) != 2*len(t) {
		return t, fmt.Errorf("heartbeat token %q: want %d hex digits", s, 2*len(t))
	}
	if _, err := hex.Decode(t[:], []byte(s)); err != nil {
		return t, fmt.Errorf("heartbeat token %q: want hex digits", s)
	}
	return t, nil
}

// Status is the server's verdict on a heartbeat.
type Status uint8

// Statuses.
const (
	StatusOK          Status = 0
	StatusUnknown     Status = 1 // renew over HTTP (first), then beat again
	StatusServerError Status = 3
)

func (s Status) String() string {
	switch s {
	case StatusOK:
		return "ok"
	case StatusUnknown:
		return "renew over HTTP"
	case StatusServerError:
		return "server error"
	}
	return fmt.Sprintf("status %d", uint8(s))
}

// Health is what the agent reports of its own checks.
type Health uint8

// Healths, as the flags byte has them.
const (
	Unreported Health = 0
	Down       Health = flagReported
	Up         Health = flagReported | flagHealthy
)

// HealthOf reports healthy as a Health.
func HealthOf(healthy bool) Health {
	if healthy {
		return Up
	}
	return Down
}

// Request is one heartbeat. A parsed Request keeps the datagram it was
// read from, for Verify.
type Request struct {
	Counter uint64
	Token   Token
	Health  Health
	raw     []byte
}

const (
	flagReported = 1 << 0
	flagHealthy  = 1 << 1
)

// Append appends the wire form of q, signed with key, to b.
func (q Request) Append(b []byte, key *Key) []byte {
	n := len(b)
	b = append(b, magic[:]...)
	b = append(b, Version, byte(q.Health), 0, 0)
	b = binary.BigEndian.AppendUint64(b, q.Counter)
	b = append(b, q.Token[:]...)
	return appendMAC(b, key, b[n:])
}

// Verify reports whether the MAC of the parsed request q is key's.
func (q *Request) Verify(key *Key) bool {
	return len(q.raw) == RequestSize && macEqual(key, q.raw[:signedReq], q.raw[signedReq:])
}

// Errors of ParseRequest; neither is answered.
var (
	errMalformed = errors.New("heartbeat: malformed datagram")
	ErrVersion   = errors.New("heartbeat: unsupported version")
)

// IsHeartbeat reports whether b starts like a heartbeat, to tell one from
// a DNS query on a shared port. As a DNS header those bytes would be a
// query with opcode 13, which is unassigned.
func IsHeartbeat(b []byte) bool { return len(b) >= 4 && [4]byte(b[:4]) == magic }

// ParseRequest reads a heartbeat; its MAC is checked by Verify.
func ParseRequest(b []byte) (q Request, err error) {
	if len(b) < 5 || !IsHeartbeat(b) {
		return q, errMalformed
	}
	if b[4] != Version {
		return q, ErrVersion
	}
	if len(b) != RequestSize || b[6] != 0 || b[7] != 0 {
		return q, errMalformed
	}
	switch h := Health(b[5]); h {
	case Unreported, Down, Up:
		q.Health = h
	default: // unknown bits, or healthy without reported
		return q, errMalformed
	}
	q.Counter = binary.BigEndian.Uint64(b[8:16])
	copy(q.Token[:], b[16:32])
	q.raw = b
	return q, nil
}

// Answer is the server's reply to one heartbeat.
type Answer struct {
	Counter  uint64 // the request's
	Status   Status
	Draining bool
	Lease    time.Duration // with StatusOK: the lease now runs this long
}

// Append appends the wire form of a, signed with key, to b.
func (a Answer) Append(b []byte, key *Key) []byte {
	var state byte
	if a.Draining {
		state = 1
	}
	ms := a.Lease.Milliseconds()
	ms = max(0, min(ms, 1<<32-1))
	n := len(b)
	b = append(b, magic[:]...)
	b = append(b, Version, byte(a.Status), state, 0)
	b = binary.BigEndian.AppendUint64(b, a.Counter)
	b = binary.BigEndian.AppendUint32(b, uint32(ms))
	return appendMAC(b, key, b[n:])
}

// ParseAnswer reads an answer and checks that key signed it.
func ParseAnswer(b []byte, key *Key) (Answer, error) {
	if len(b) != AnswerSize || [4]byte(b[:4]) != magic || b[4] != Version || b[6] > 1 ||
		!macEqual(key, b[:signedAns], b[signedAns:]) {
		return Answer{}, errMalformed
	}
	return Answer{
		Status:   Status(b[5]),
		Draining: b[6] == 1,
		Counter:  binary.BigEndian.Uint64(b[8:16]),
		Lease:    time.Duration(binary.BigEndian.Uint32(b[16:20])) * time.Millisecond,
	}, nil
}
