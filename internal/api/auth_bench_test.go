package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/dnslb/dnslb/internal/api"
	"github.com/dnslb/dnslb/internal/api/client"
)

// BenchmarkRenew is the cost of an HTTP lease renewal through the API's
// handler, without tokens (open, on loopback) and with a register token
// and the set's secret (two SHA-256 and a read of the set to check its
// owner): what auth costs the hottest write path.
func BenchmarkRenew(b *testing.B) {
	for _, mode := range []string{"open", "token"} {
		b.Run(mode, func(b *testing.B) {
			var handler http.Handler
			e := newAuthEnv(b, func(cfg *api.Config) {
				if mode == "open" {
					cfg.Tokens = nil
				}
				handler = api.New(*cfg)
			})
			tok := "pool"
			if mode == "open" {
				tok = ""
			}
			cl := e.as(tok)
			res, err := cl.PutSet(context.Background(), "lb.test", leased("i-1"))
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				r := httptest.NewRequest("POST", "http://127.0.0.1/v1/zones/lb.test/rrsets/www/A/renew?set_id=i-1", strings.NewReader(`{"healthy":true}`))
				r.Header.Set("Content-Type", "application/json")
				if mode == "token" {
					r.Header.Set("Authorization", "Bearer pool")
					r.Header.Set(client.SetSecretHeader, res.SetSecret)
				}
				w := httptest.NewRecorder()
				handler.ServeHTTP(w, r)
				if w.Code != http.StatusOK {
					b.Fatalf("renew: %d %s", w.Code, w.Body)
				}
			}
		})
	}
}
