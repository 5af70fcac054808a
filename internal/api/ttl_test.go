package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/dnslb/dnslb/internal/api/client"
	"github.com/dnslb/dnslb/internal/dnsserver"
)

// dnsOver runs a DNS server over e's registry on 127.0.0.1 and returns its
// address.
func (e *env) dnsOver(t *testing.T) string {
	t.Helper()
	srv, err := dnsserver.New(dnsserver.Config{Addr: "127.0.0.1:0", Snapshot: e.reg, UDPSockets: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("dns server: %v", err)
		}
	})
	return srv.Addr()
}

// send makes one API request with a JSON body and returns the status.
func (e *env) send(t *testing.T, method, path, body string) int {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// answerTTLs asks addr over UDP for name A, n times, and returns every
// TTL seen.
func answerTTLs(t *testing.T, addr, name string, n int) map[uint32]int {
	t.Helper()
	seen := map[uint32]int{}
	c := &dns.Client{Net: "udp"}
	for range n {
		m := new(dns.Msg)
		m.SetQuestion(name, dns.TypeA)
		in, _, err := c.Exchange(m, addr)
		if err != nil || len(in.Answer) == 0 {
			t.Fatalf("query %s: %v (%v)", name, in, err)
		}
		for _, rr := range in.Answer {
			seen[rr.Header().Ttl]++
		}
	}
	return seen
}

// TestGroupTTLThroughTheAPI: a rolling deploy that changes the agent's
// --ttl. The second registration, with another TTL, is accepted; it
// becomes the TTL of the whole group in listings and in DNS answers. A
// batch giving every set a new TTL is accepted too, and a write without a
// TTL keeps the group's.
func TestGroupTTLThroughTheAPI(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	addr := e.dnsOver(t)
	const reg = `{"name":"pool","type":"A","set_id":"%s","weight":10,"ttl":%d,"lease":"30s","values":["%s"]}`
	for _, r := range []struct {
		id, addr string
		ttl      int
	}{{"i-old", "127.0.1.1", 30}, {"i-new", "127.0.1.2", 60}} {
		if code := e.send(t, "PUT", "/v1/zones/lb.test/rrsets", fmt.Sprintf(reg, r.id, r.ttl, r.addr)); code != http.StatusOK {
			t.Fatalf("register %s with TTL %d: status %d, want 200", r.id, r.ttl, code)
		}
	}
	e.wantTTLs(ctx, t, map[string]uint32{"i-old": 60, "i-new": 60})
	if got := answerTTLs(t, addr, "pool.lb.test.", 20); got[60] != 20 {
		t.Errorf("answer TTLs %v, want 60 in all 20", got)
	}

	batch := `{"changes":[` +
		`{"action":"UPSERT","rrset":{"name":"pool","type":"A","set_id":"i-old","weight":10,"ttl":120,"values":["127.0.1.1"]}},` +
		`{"action":"UPSERT","rrset":{"name":"pool","type":"A","set_id":"i-new","weight":10,"ttl":120,"values":["127.0.1.2"]}}]}`
	if code := e.send(t, "POST", "/v1/zones/lb.test/changes", batch); code != http.StatusOK {
		t.Fatalf("batch giving every set TTL 120: status %d, want 200", code)
	}
	e.put(t, client.SetRequest{Name: "pool", Type: "A", SetID: "i-third", Weight: ptr(10), Values: []string{"127.0.1.3"}})
	e.wantTTLs(ctx, t, map[string]uint32{"i-old": 120, "i-new": 120, "i-third": 120})
	if got := answerTTLs(t, addr, "pool.lb.test.", 20); got[120] != 20 {
		t.Errorf("answer TTLs %v, want 120 in all 20", got)
	}
}

// wantTTLs checks the TTLs the API lists for the sets of pool A.
func (e *env) wantTTLs(ctx context.Context, t *testing.T, want map[string]uint32) {
	t.Helper()
	views, err := e.cl.Sets(ctx, "lb.test", "pool", "A", "")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]uint32{}
	for _, v := range views {
		got[v.SetID] = v.TTL
	}
	if len(got) != len(want) {
		t.Fatalf("listed TTLs %v, want %v", got, want)
	}
	for id, ttl := range want {
		if got[id] != ttl {
			t.Fatalf("listed TTLs %v, want %v", got, want)
		}
	}
}
