package heartbeat

import (
	"bytes"
	"testing"
	"time"
)

// FuzzAnswer feeds arbitrary datagrams to the handler, as the DNS loops
// do: it never panics, takes exactly the datagrams that start like a
// heartbeat, and answers only authentic ones, with an answer no larger
// that carries the request's counter and the key's MAC.
func FuzzAnswer(f *testing.F) {
	known := KeyIDOf(&testKey)
	f.Add(Request{Counter: 1, Token: known, Health: Up}.Append(nil, &testKey))
	f.Add(Request{Counter: 2, Token: Token{0xbb}}.Append(nil, &testKey))
	f.Add(Request{Counter: 3, Token: known}.Append(nil, &Key{1}))
	f.Add([]byte("dlhb\x02\x00\x00\x00"))
	f.Add([]byte{0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, 'w', 'w', 'w', 0, 0, 1, 0, 1})
	h := NewHandler(Config{Renew: func(q Request) Result {
		if q.Token != known || !q.Verify(&testKey) {
			return Result{Verdict: BadMAC}
		}
		return Result{Verdict: Renewed, Key: &testKey, Lease: 15 * time.Second, Draining: true}
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
		q, _ := ParseRequest(req)
		if !q.Verify(&testKey) {
			t.Fatalf("answered %x, which the key did not sign", req)
		}
		a, err := ParseAnswer(resp, &testKey)
		if err != nil {
			t.Fatalf("answer %x to %x does not parse: %v", resp, req, err)
		}
		if a.Counter != q.Counter {
			t.Fatalf("answer counter %d to a request with counter %d", a.Counter, q.Counter)
		}
	})
}

// FuzzParseAnswer is the agent's side: an answer that parses writes back
// the same bytes (the reserved byte aside, which the reader ignores and
// the MAC covers).
func FuzzParseAnswer(f *testing.F) {
	f.Add(Answer{Counter: 9, Status: StatusOK, Lease: 15 * time.Second}.Append(nil, &testKey))
	f.Add(Answer{Counter: 1, Status: StatusUnknown, Draining: true}.Append(nil, &testKey))
	f.Add([]byte("dlhb\x02"))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := ParseAnswer(b, &testKey)
		if err != nil {
			return
		}
		again := a.Append(nil, &testKey)
		if len(again) != len(b) || !bytes.Equal(again[:7], b[:7]) || !bytes.Equal(again[8:signedAns], b[8:signedAns]) {
			t.Fatalf("parsed %x as %+v, which writes %x", b, a, again)
		}
	})
}
