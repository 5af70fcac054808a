// Package heartbeat is dnslb's lease renewal over UDP: the cheap path an
// agent takes between HTTP renewals.
//
// An HTTP renewal answers with a heartbeat token (16 random bytes that
// name one leased record set on that server) and the address to send
// heartbeats to: by default the DNS port itself, where the DNS server's UDP
// loops hand every datagram that starts with the magic "dlhb" to a Handler
// (as a DNS header those bytes are a query with the unassigned opcode 13).
// A heartbeat is one 32-byte datagram carrying the token and the agent's
// health; the server renews the lease in memory and answers with a 20-byte
// datagram. There is no name to parse, no JSON, no TCP connection and no
// allocation. On one core serving 50k queries/s, 2,000 HTTP renewals a
// second put p99 query latency at 1.7-2.5x that of a control run in which
// the load generator sent its heartbeats nowhere; 2,000 heartbeats a second
// at 0.99-1.00x (bench/leases.sh, bench/RESULTS.md). A heartbeat costs the
// server 8-22 µs of CPU, an HTTP renewal 67 µs (bench/renewcost.sh).
//
// Whoever knows a token can keep that lease alive, nothing more, as with
// the HTTP renewal itself. A token is valid while the set lives in the
// server's memory; after a restart, or once the set is gone, the server
// answers StatusUnknown and the agent renews over HTTP, which hands out a
// new token. The answer is never larger than the request, so the port
// cannot amplify a spoofed source's traffic, and malformed datagrams get
// no answer at all.
//
// Request (32 bytes):
//
//	0   4  magic "dlhb"
//	4   1  version (1)
//	5   1  health: 0 not reported, 1 down, 3 up (bit 0 reported, bit 1 healthy)
//	6   2  reserved, zero
//	8   8  nonce, echoed in the answer
//	16 16  token
//
// Answer (20 bytes):
//
//	0   4  magic "dlhb"
//	4   1  version (1)
//	5   1  status: 0 ok, 1 unknown token, 2 unsupported version, 3 server error
//	6   1  state: 0 active, 1 draining
//	7   1  reserved, zero
//	8   8  nonce of the request
//	16  4  lease in milliseconds (big endian), valid with status ok
package heartbeat

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// Sizes of the two datagrams.
const (
	RequestSize = 32
	AnswerSize  = 20
	Version     = 1
)

var magic = [4]byte{'d', 'l', 'h', 'b'}

// Token names one leased record set on one server.
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
	StatusUnknown     Status = 1 // no such token here: renew over HTTP
	StatusBadVersion  Status = 2
	StatusServerError Status = 3
)

func (s Status) String() string {
	switch s {
	case StatusOK:
		return "ok"
	case StatusUnknown:
		return "unknown token"
	case StatusBadVersion:
		return "unsupported version"
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

// Request is one heartbeat.
type Request struct {
	Nonce  uint64
	Token  Token
	Health Health
}

const (
	flagReported = 1 << 0
	flagHealthy  = 1 << 1
)

// Append appends the wire form of q to b.
func (q Request) Append(b []byte) []byte {
	b = append(b, magic[:]...)
	b = append(b, Version, byte(q.Health), 0, 0)
	b = binary.BigEndian.AppendUint64(b, q.Nonce)
	return append(b, q.Token[:]...)
}

// Errors of ParseRequest. A datagram with errMalformed gets no answer;
// one with ErrVersion is answered StatusBadVersion.
var (
	errMalformed = errors.New("heartbeat: malformed datagram")
	ErrVersion   = errors.New("heartbeat: unsupported version")
)

// IsHeartbeat reports whether b starts like a heartbeat, to tell one from
// a DNS query on a shared port. As a DNS header those bytes would be a
// query with opcode 13, which is unassigned.
func IsHeartbeat(b []byte) bool { return len(b) >= 4 && [4]byte(b[:4]) == magic }

// ParseRequest reads a heartbeat.
func ParseRequest(b []byte) (q Request, err error) {
	if len(b) < 8 || !IsHeartbeat(b) {
		return q, errMalformed
	}
	if len(b) >= 16 {
		q.Nonce = binary.BigEndian.Uint64(b[8:16])
	}
	if b[4] != Version {
		return q, ErrVersion
	}
	switch h := Health(b[5]); {
	case len(b) != RequestSize || b[6] != 0 || b[7] != 0:
		return q, errMalformed
	case h == Unreported || h == Down || h == Up:
		q.Health = h
	default: // unknown bits, or healthy without reported
		return q, errMalformed
	}
	copy(q.Token[:], b[16:32])
	return q, nil
}

// Answer is the server's reply to one heartbeat.
type Answer struct {
	Nonce    uint64
	Status   Status
	Draining bool
	Lease    time.Duration // with StatusOK: the lease now runs this long
}

// Append appends the wire form of a to b.
func (a Answer) Append(b []byte) []byte {
	var state byte
	if a.Draining {
		state = 1
	}
	ms := a.Lease.Milliseconds()
	ms = max(0, min(ms, 1<<32-1))
	b = append(b, magic[:]...)
	b = append(b, Version, byte(a.Status), state, 0)
	b = binary.BigEndian.AppendUint64(b, a.Nonce)
	return binary.BigEndian.AppendUint32(b, uint32(ms))
}

// ParseAnswer reads an answer.
func ParseAnswer(b []byte) (Answer, error) {
	if len(b) != AnswerSize || [4]byte(b[:4]) != magic || b[4] != Version || b[6] > 1 {
		return Answer{}, errMalformed
	}
	return Answer{
		Status:   Status(b[5]),
		Draining: b[6] == 1,
		Nonce:    binary.BigEndian.Uint64(b[8:16]),
		Lease:    time.Duration(binary.BigEndian.Uint32(b[16:20])) * time.Millisecond,
	}, nil
}
