package heartbeat

import (
	"bytes"
	"testing"
	"time"
)

// FuzzAnswer feeds arbitrary datagrams to the handler, as the DNS loops
// do: it never panics, takes exactly the datagrams that start like a
// heartbeat, and any answer it gives parses and carries the request's
// nonce. The renewal knows one token and reports a draining lease.
func FuzzAnswer(f *testing.F) {
	known := Token{0xaa}
	f.Add(Request{Nonce: 1, Token: known, Health: Up}.Append(nil))
	f.Add(Request{Nonce: 2, Token: Token{0xbb}}.Append(nil))
	f.Add([]byte("dlhb\x02\x00\x00\x00"))
	f.Add([]byte{0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, 'w', 'w', 'w', 0, 0, 1, 0, 1})
	h := NewHandler(Config{Renew: func(tok Token, _ Health) (time.Duration, bool, bool) {
		return 15 * time.Second, true, tok == known
	}})
	out := make([]byte, 0, AnswerSize)
	f.Fuzz(func(t *testing.T, req []byte) {
		resp, ours := h.Answer(req, out)
		if ours != IsHeartbeat(req) {
			t.Fatalf("%x: ours %v", req, ours)
		}
		if resp == nil {
			return
		}
		if len(resp) > len(req) {
			t.Fatalf("answer of %d bytes to a request of %d: a reflector's gain", len(resp), len(req))
		}
		a, err := ParseAnswer(resp)
		if err != nil {
			t.Fatalf("answer %x to %x does not parse: %v", resp, req, err)
		}
		if q, _ := ParseRequest(req); a.Nonce != q.Nonce {
			t.Fatalf("answer nonce %d to a request with nonce %d", a.Nonce, q.Nonce)
		}
	})
}

// FuzzParseAnswer is the agent's side: an answer that parses writes back
// the same bytes (the reserved byte aside, which the reader ignores).
func FuzzParseAnswer(f *testing.F) {
	f.Add(Answer{Nonce: 9, Status: StatusOK, Lease: 15 * time.Second}.Append(nil))
	f.Add(Answer{Nonce: 1, Status: StatusUnknown, Draining: true}.Append(nil))
	f.Add([]byte("dlhb\x01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := ParseAnswer(b)
		if err != nil {
			return
		}
		again := a.Append(nil)
		if len(again) != len(b) || !bytes.Equal(again[:7], b[:7]) || !bytes.Equal(again[8:], b[8:]) {
			t.Fatalf("parsed %x as %+v, which writes %x", b, a, again)
		}
	})
}
