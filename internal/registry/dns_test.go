package registry

import (
	"context"
	"testing"

	"github.com/miekg/dns"

	"github.com/dnslb/dnslb/internal/dnsserver"
)

// dnsOf runs a DNS server over h's registry on 127.0.0.1, on h's clock, so
// that answers are recorded as served the way they are in production. It
// returns the server's address.
func (h *harness) dnsOf(t *testing.T) string {
	t.Helper()
	srv, err := dnsserver.New(dnsserver.Config{Addr: "127.0.0.1:0", Snapshot: h.reg, Now: h.clock.Now, UDPSockets: 1})
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

// ask queries addr over UDP for name (A) and returns the answer's records.
func ask(t *testing.T, addr, name string) []dns.RR {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), dns.TypeA)
	c := &dns.Client{Net: "udp"}
	in, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("query %s: %v", name, err)
	}
	if in.Rcode != dns.RcodeSuccess || len(in.Answer) == 0 {
		t.Fatalf("query %s: rcode %s, %d answers", name, dns.RcodeToString[in.Rcode], len(in.Answer))
	}
	return in.Answer
}

// answerTTLs returns the TTL of each record of an answer.
func answerTTLs(rrs []dns.RR) []uint32 {
	out := make([]uint32, len(rrs))
	for i, rr := range rrs {
		out[i] = rr.Header().Ttl
	}
	return out
}
