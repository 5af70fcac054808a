package cli

import (
	"context"
	"log/slog"
	"net/http"
	"path/filepath"

	"github.com/dnslb/dnslb/internal/registry"
	"github.com/dnslb/dnslb/internal/route53api"
)

// Route53Flags are serve's flags for the Route 53-compatible API.
type Route53Flags struct {
	R53Credentials string `name:"r53-credentials" type:"path" placeholder:"FILE" help:"Serve the Route 53-compatible API (/2013-04-01/, SigV4) on the API address, for the access keys in FILE: lines of ACCESS_KEY_ID SECRET_ACCESS_KEY SCOPE (admin, read or register:PATTERNS). Reloaded on SIGHUP. Not served without it."`
}

// route53Handler is the Route 53 API's handler, nil without
// --r53-credentials; health checks a file of the data directory kept
// (earlier versions) are moved into the store first.
func (c *Route53Flags) route53Handler(ctx context.Context, reg *registry.Registry, sync route53api.Syncer, log *slog.Logger, data string) (http.Handler, error) {
	if c.R53Credentials == "" {
		return nil, nil
	}
	keys, err := route53api.ReadKeys(c.R53Credentials)
	if err != nil {
		return nil, err
	}
	log = log.With("part", "route53")
	// Earlier versions kept the health checks in this file; they are in the store now.
	if _, err := route53api.ImportHealthChecks(ctx, reg, filepath.Join(data, "route53-healthchecks.json"), log); err != nil {
		return nil, err
	}
	return route53api.New(route53api.Options{Registry: reg, Keys: keys, KeysFile: c.R53Credentials, Sync: sync, Logger: log}), nil
}
