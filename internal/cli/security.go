package cli

import (
	"crypto/tls"
	"log/slog"
	"net"
	"net/netip"

	"github.com/dnslb/dnslb/internal/api"
	"github.com/dnslb/dnslb/internal/auth"
)

// APISecurity are serve's flags for who may use the API.
type APISecurity struct {
	Tokens      string   `name:"tokens" type:"path" help:"File of API tokens (hashes; see 'dnslb token create'); reloaded on SIGHUP. Without it the API is open and must stay on loopback."`
	InsecureAPI bool     `name:"insecure-api" help:"Allow an open API (no --tokens) on a non-loopback --api address: anyone who reaches it can change every record set."`
	APIHosts    []string `name:"api-hosts" sep:"," help:"Host names the API answers to besides localhost, 127.0.0.1, [::1] and its own address (against DNS rebinding), e.g. dnslb.internal."`
	APICert     string   `name:"api-cert" type:"path" help:"PEM certificate: serve the API over TLS (reloaded on SIGHUP)."`
	APIKey      string   `name:"api-key" type:"path" help:"PEM private key of --api-cert."`
	APIClientCA string   `name:"api-client-ca" type:"path" help:"PEM CA file: require API clients to present a certificate it signed (mutual TLS)."`

	APIMaxConns      int `name:"api-max-conns" default:"1024" help:"Most API connections open at once (at most half the open-file limit); beyond it a new one replaces an idle or slow one."`
	APIMaxConnsPerIP int `name:"api-max-conns-per-ip" default:"64" help:"Most API connections open at once from one address."`
}

// security is what APISecurity loaded.
type security struct {
	flags  *APISecurity
	tokens *auth.Keeper
	certs  *api.Certs
	tls    *tls.Config
}

// load checks the flags for an API on addr and reads the files they name.
func (c *APISecurity) load(addr string) (*security, error) {
	if err := c.validate(addr); err != nil {
		return nil, err
	}
	sec := &security{flags: c}
	if c.Tokens != "" {
		k, err := auth.Open(c.Tokens)
		if err != nil {
			return nil, err
		}
		sec.tokens = k
	}
	if c.APICert == "" {
		return sec, nil
	}
	certs, err := api.LoadCerts(c.APICert, c.APIKey)
	if err != nil {
		return nil, err
	}
	sec.certs = certs
	sec.tls, err = certs.TLSConfig(c.APIClientCA)
	return sec, err
}

func (c *APISecurity) validate(addr string) error {
	switch {
	case (c.APICert == "") != (c.APIKey == ""):
		return usagef("--api-cert and --api-key go together")
	case c.APIClientCA != "" && c.APICert == "":
		return usagef("--api-client-ca needs --api-cert and --api-key (mutual TLS is TLS)")
	case c.APIMaxConns < 1 || c.APIMaxConnsPerIP < 1:
		return usagef("--api-max-conns %d, --api-max-conns-per-ip %d: allowed 1 or more", c.APIMaxConns, c.APIMaxConnsPerIP)
	case c.Tokens == "" && !c.InsecureAPI && !loopbackAddr(addr):
		return usagef("--api %s is not a loopback address, and without --tokens anyone who reaches the API could change or delete every record set. "+
			"Give --tokens FILE (make tokens with 'dnslb token create'), or keep --api on 127.0.0.1 or [::1], "+
			"or add --insecure-api if a firewall already keeps everyone else out", addr)
	}
	return nil
}

// loopbackAddr reports whether the API address listens on loopback only
// (a wildcard or a name other than localhost does not).
func loopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// apply puts what sec loaded into the API's configuration.
func (sec *security) apply(cfg *api.Config) {
	cfg.Tokens, cfg.Certs, cfg.TLS = sec.tokens, sec.certs, sec.tls
	cfg.Hosts = sec.flags.APIHosts
	cfg.MaxConns, cfg.MaxConnsPerIP = sec.flags.APIMaxConns, sec.flags.APIMaxConnsPerIP
}

// reload reloads the API's tokens and certificate (serve does on
// SIGHUP); a file that fails to load leaves the ones in use.
func reload(log *slog.Logger, srv *api.Server) {
	if err := srv.Reload(); err != nil {
		log.Error("SIGHUP: reload failed; the API keeps its tokens and certificate", "err", err)
		return
	}
	log.Info("SIGHUP: reloaded the API's tokens and certificate")
}
