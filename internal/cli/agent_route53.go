package cli

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/route53"

	"github.com/dnslb/dnslb/internal/agent"
	"github.com/dnslb/dnslb/internal/record"
)

// agentProvider are the agent's flags that choose where it registers:
// dnslb (the API of --server) or Route 53.
type agentProvider struct {
	Provider      string        `enum:"dnslb,route53" default:"dnslb" help:"Where to register: dnslb (the API of --server, with a lease) or route53 (a weighted record in a hosted zone, through the AWS SDK)."`
	HostedZoneID  string        `name:"hosted-zone-id" placeholder:"Z..." help:"Provider route53: the hosted zone of --name."`
	HealthCheckID string        `name:"health-check-id" help:"Provider route53: a Route 53 health check to attach to the record (HealthCheckId)."`
	Endpoint      string        `name:"endpoint" placeholder:"URL" help:"Provider route53: a Route 53-compatible endpoint instead of AWS's (e.g. dnslb serve's API address)."`
	Route53Poll   time.Duration `name:"route53-poll" default:"2s" hidden:"" help:"Time between GetChange calls while waiting for INSYNC."`
}

// validateProvider checks the provider flags that need no network.
func (c *AgentCmd) validateProvider() error {
	if c.Provider != "route53" {
		if c.Zone == "" {
			return errors.New("--zone is required (with --provider dnslb)")
		}
		for _, f := range []struct{ flag, v string }{{"--hosted-zone-id", c.HostedZoneID}, {"--health-check-id", c.HealthCheckID}, {"--endpoint", c.Endpoint}} {
			if f.v != "" {
				return fmt.Errorf("%s: only with --provider route53", f.flag)
			}
		}
		return nil
	}
	switch {
	case c.HostedZoneID == "":
		return errors.New("--provider route53 needs --hosted-zone-id")
	case c.Route53Poll <= 0:
		return fmt.Errorf("--route53-poll %s: must be positive", c.Route53Poll)
	}
	if c.Endpoint != "" {
		if u, err := url.Parse(c.Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("--endpoint %q: allowed an http:// or https:// URL", c.Endpoint)
		}
	}
	if _, err := c.route53Name(); err != nil {
		return err
	}
	return nil
}

// route53Name is --name fully qualified: relative to --zone when one is
// given, else taken as absolute.
func (c *AgentCmd) route53Name() (string, error) {
	if c.Zone == "" {
		n, err := record.ZoneName("name", c.Name)
		if err != nil {
			return "", fmt.Errorf("--name %q: %w", c.Name, err)
		}
		return n, nil
	}
	z, err := record.ZoneName("zone", c.Zone)
	if err != nil {
		return "", fmt.Errorf("--zone %q: %w", c.Zone, err)
	}
	n, err := record.Canonical("name", c.Name, z)
	if err != nil {
		return "", fmt.Errorf("--name %q: %w", c.Name, err)
	}
	return n, nil
}

// configureRoute53 points cfg at Route 53: a client with the SDK's
// default credential chain (the instance role on EC2), region us-east-1
// (Route 53 is global) and no retries of its own (the agent retries with
// its backoff).
func (c *AgentCmd) configureRoute53(ctx context.Context, cfg *agent.Config) error {
	if c.Provider != "route53" {
		return nil
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, config.WithRegion("us-east-1"),
		config.WithRetryer(func() aws.Retryer { return aws.NopRetryer{} }))
	if err != nil {
		return fmt.Errorf("route 53: AWS configuration: %w", err)
	}
	client := route53.NewFromConfig(awsCfg, func(o *route53.Options) {
		if c.Endpoint != "" {
			o.BaseEndpoint = aws.String(c.Endpoint)
		}
	})
	cfg.Name, _ = c.route53Name() // checked by validateProvider
	cfg.Zone, cfg.Servers = "", nil
	cfg.Lease = 0
	cfg.Route53 = &agent.Route53{Client: client, HostedZoneID: c.HostedZoneID, HealthCheckID: c.HealthCheckID, Poll: c.Route53Poll}
	return nil
}
