package webhook_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dnslb/dnslb/internal/webhook"
)

// FuzzRequests sends arbitrary bodies to POST /records and POST
// /adjustendpoints: every answer is a success or a 4xx, never a crash or
// a 500 (a store failure, which a body cannot cause).
func FuzzRequests(f *testing.F) {
	for _, name := range []string{"changes-create.json", "changes-update.json", "adjust-in.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Add(`{"delete":[null]}`)
	f.Add(`[{"dnsName":"x.lb.test","recordType":"SRV","targets":["1 2 3 ."],"recordTTL":-1}]`)
	e := newEnv(f)
	h := webhook.New(webhook.Config{Registry: e.reg, MaxBody: 64 << 10})
	f.Fuzz(func(t *testing.T, body string) {
		for _, path := range []string{"/records", "/adjustendpoints", "/owner/x/records"} {
			req := httptest.NewRequest("POST", path, strings.NewReader(body))
			req.Header.Set("Content-Type", webhook.MediaType)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code >= 500 {
				t.Fatalf("POST %s %q: %d %s", path, body, rec.Code, rec.Body)
			}
			if rec.Code == http.StatusOK && rec.Header().Get("Content-Type") != webhook.MediaType {
				t.Fatalf("POST %s: content type %q", path, rec.Header().Get("Content-Type"))
			}
		}
	})
}
