package cli

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/dnslb/dnslb/internal/registry"
	"github.com/dnslb/dnslb/internal/webhook"
)

// externalDNS are the flags of serve for external-dns's webhook provider
// protocol (package webhook), off by default.
type externalDNS struct {
	ExternalDNSWebhook  string `name:"external-dns-webhook" placeholder:"HOST:PORT" help:"Serve external-dns's webhook provider protocol on this address (off by default); point external-dns --provider=webhook --webhook-provider-url at http://HOST:PORT/owner/CLUSTER."`
	ExternalDNSOwner    string `name:"external-dns-owner" default:"external-dns" help:"Writer of webhook requests whose URL names none (no /owner/NAME): the owner of the sets they write."`
	InsecureExternalDNS bool   `name:"insecure-external-dns" help:"Allow --external-dns-webhook on a non-loopback address: the protocol has no authentication, so anyone who reaches it can write the zones' names."`

	webhook *webhook.Server
}

// validate checks the flags before anything is written.
func (f *externalDNS) validate() error {
	if f.ExternalDNSWebhook == "" {
		return nil
	}
	if !validHostPort(f.ExternalDNSWebhook) {
		return usagef("--external-dns-webhook %q: allowed HOST:PORT", f.ExternalDNSWebhook)
	}
	if err := webhook.CheckOwner(f.ExternalDNSOwner); err != nil {
		return usagef("--external-dns-owner: %w", err)
	}
	if !f.InsecureExternalDNS && !loopbackAddr(f.ExternalDNSWebhook) {
		return usagef("--external-dns-webhook %s is not a loopback address, and the webhook protocol has no authentication: anyone who reaches it could write the zones' names. "+
			"Keep it on 127.0.0.1 (external-dns as a sidecar, or behind an authenticating proxy), or add --insecure-external-dns if a network policy already keeps everyone else out", f.ExternalDNSWebhook)
	}
	return nil
}

// listenWebhook binds the webhook's address when one is given; serve
// then runs it beside the API.
func (f *externalDNS) listenWebhook(reg *registry.Registry, log *slog.Logger, shutdown time.Duration) error {
	if f.ExternalDNSWebhook == "" {
		return nil
	}
	f.webhook = webhook.New(webhook.Config{Addr: f.ExternalDNSWebhook, Registry: reg, Owner: f.ExternalDNSOwner,
		Logger: log.With("part", "external-dns"), Shutdown: shutdown})
	if err := f.webhook.Listen(); err != nil {
		return advisePort(f.ExternalDNSWebhook, fmt.Errorf("--external-dns-webhook %s: %w", f.ExternalDNSWebhook, err))
	}
	return nil
}
