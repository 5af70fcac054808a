package cli_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// serve moves the health checks an earlier version kept in
// DATA/route53-healthchecks.json into the store, once, and renames the
// file; the aws CLI then reads them from the store.
func TestServeImportsRoute53HealthChecks(t *testing.T) {
	needTool(t, "/usr/bin/aws")
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(data, 0o700); err != nil {
		t.Fatal(err)
	}
	old := `[{"id": "0f1e2d3c-0000-4000-8000-000000000001", "caller_reference": "old-1", "version": 3,
	  "config": {"type": "TCP", "port": 8080, "request_interval": 30, "failure_threshold": 3,
	    "measure_latency": false, "inverted": false, "disabled": false, "enable_sni": false}}]`
	file := filepath.Join(data, "route53-healthchecks.json")
	if err := os.WriteFile(file, []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	creds := filepath.Join(dir, "r53-credentials")
	if err := os.WriteFile(creds, []byte(r53Key+" "+r53Secret+" admin\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "127.0.0.72", data, "--r53-credentials", creds)
	hc := mustAWS(t, s, "route53", "get-health-check", "--health-check-id", "0f1e2d3c-0000-4000-8000-000000000001")
	got, _ := hc["HealthCheck"].(map[string]any)
	if got["CallerReference"] != "old-1" || got["HealthCheckVersion"] != float64(3) {
		t.Errorf("imported check = %v", hc)
	}
	if _, err := os.Stat(file); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s still there after the import: %v", file, err)
	}
	if _, err := os.Stat(file + ".imported"); err != nil {
		t.Errorf("no %s.imported: %v", file, err)
	}
	if !strings.Contains(s.stderr.String(), "route53 health checks imported into the store") {
		t.Errorf("no log line of the import in:\n%s", s.stderr.String())
	}
}
