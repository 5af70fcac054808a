package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"

	"github.com/dnslb/dnslb/internal/agent"
	"github.com/dnslb/dnslb/internal/api/client"
	"github.com/dnslb/dnslb/internal/record"
)

// AgentCmd runs the on-instance agent.
type AgentCmd struct {
	Zone     string        `help:"Zone of the pool name, e.g. lb.example.com (required with --provider dnslb)."`
	Name     string        `required:"" help:"Pool name, relative to the zone (www) or fully qualified."`
	Type     string        `enum:",A,AAAA" default:"" help:"Record type; by default A or AAAA from the address."`
	Weight   int           `default:"10" help:"Weight 0..255 of this instance."`
	TTL      int64         `name:"ttl" default:"60" help:"TTL in seconds; clients may hold the address this long."`
	Lease    time.Duration `default:"15s" help:"Lease: if the agent stops renewing (a crash), the server drops the instance after this."`
	Identity string        `enum:"static,host,ec2" default:"host" help:"Where identity comes from: static (--set-id, --address), host (host name, primary address) or ec2 (IMDSv2)."`
	SetID    string        `name:"set-id" help:"Set identifier (identity static; overrides ec2's instance id)."`
	Address  string        `help:"Address to register (identity static; overrides host's and ec2's)."`
	// Where the EC2 address comes from, and where a drain is remembered (agent_ec2.go).
	AddressFrom string `name:"address-from" enum:",public,private,ipv6" default:"" help:"Identity ec2: register the public IPv4, the private IPv4 or the IPv6 address (default: public if the instance has one, else private, else IPv6)."`
	StateDir    string `name:"state-dir" env:"STATE_DIRECTORY" help:"Directory where a drain of a terminating instance is remembered, so a restarted agent does not register it again (default: systemd's StateDirectory=)."`

	Check         string        `help:"Local check: http://…, https://…, tcp://HOST:PORT or exec:COMMAND. The instance registers after its first pass."`
	CheckInterval time.Duration `default:"2s" help:"Time between local checks."`
	CheckTimeout  time.Duration `help:"Local check timeout (default 1s, at most the interval)."`
	Rise          int           `default:"2" help:"Passes in a row that make the instance healthy again."`
	Fall          int           `default:"2" help:"Failures in a row that take the instance out of answers."`
	DrainMargin   time.Duration `default:"5s" help:"Safety margin added to the TTL when draining."`
	StopTimeout   time.Duration `name:"stop-timeout" help:"The service manager's stop timeout (systemd TimeoutStopSec): refuse to start when the longest drain (--ttl + --drain-margin + 10s) does not fit it. 0: not checked."`

	ImdsEndpoint          string        `name:"imds-endpoint" help:"IMDS address (default the EC2 one; for tests)."`
	NoticeInterval        time.Duration `default:"5s" help:"How often to poll IMDS for spot and auto scaling termination notices (identity ec2)."`
	CompleteLifecycleHook string        `help:"After the drain, complete this auto scaling lifecycle hook (CONTINUE)."`
	AsgName               string        `name:"asg-name" help:"Auto scaling group name, for --complete-lifecycle-hook."`
	Region                string        `help:"AWS region for --complete-lifecycle-hook (default from IMDS)."`
	AutoscalingEndpoint   string        `hidden:"" help:"Auto scaling API endpoint override (tests)."`

	Renew     string `enum:"udp,http" default:"udp" help:"How to renew the lease: udp (heartbeats when the server offers them; HTTP otherwise and whenever they fail) or http."`
	Once      string `enum:",register,deregister" default:"" help:"Do one thing and exit, for init scripts: register (no lease) or deregister (drain, wait, delete)."`
	LogFormat string `enum:"text,json" default:"text" help:"Log format."`
	LogLevel  string `enum:"debug,info,warn,error" default:"info" help:"Log level: debug shows every retry."`

	RequestTimeout  time.Duration `default:"5s" help:"Deadline of each call to a server (at most a third of --lease); then the next server is tried."`
	IdentityTimeout time.Duration `default:"30s" help:"How long finding the identity may fail (e.g. IMDS unreachable) before the agent exits."`
	BackoffMin      time.Duration `default:"200ms" hidden:"" help:"First retry delay after a transient error."`
	BackoffMax      time.Duration `default:"10s" hidden:"" help:"Longest retry delay."`

	agentProvider `embed:""` // agent_route53.go
}

// Run runs the agent until it has drained.
func (c *AgentCmd) Run(g *Globals) error {
	log := newLogger(g.stderr, c.LogLevel, c.LogFormat).With("part", "agent")
	a, imdsClient, err := c.build(g, log)
	if err != nil {
		return err
	}
	if c.Once != "" {
		return a.Once(g.ctx, c.Once)
	}
	hard, cancel := context.WithCancel(g.ctx)
	defer cancel()
	drain := make(chan string, 2)
	go c.watchSignals(hard, g.signals, drain, cancel, log)
	if c.Identity == "ec2" {
		n := c.notices(imdsClient, log)
		go func() {
			if reason := n.Watch(hard); reason != "" {
				drain <- reason
			}
		}()
	}
	return a.Run(hard, drain)
}

// watchSignals turns the first SIGTERM/SIGINT into a drain and the second
// into an immediate exit.
func (c *AgentCmd) watchSignals(ctx context.Context, sigs <-chan os.Signal, drain chan<- string, cancel func(), log *slog.Logger) {
	select {
	case sig := <-sigs:
		drain <- "signal " + sig.String()
	case <-ctx.Done():
		return
	}
	select {
	case sig := <-sigs:
		log.Warn("second signal: exiting now", "signal", sig.String())
		cancel()
	case <-ctx.Done():
	}
}

func (c *AgentCmd) build(g *Globals, log *slog.Logger) (*agent.Agent, *imds.Client, error) {
	if err := c.validate(); err != nil {
		return nil, nil, usageError{err}
	}
	if err := c.checkStopTimeout(); err != nil {
		return nil, nil, usageError{err}
	}
	if err := c.validateProvider(); err != nil {
		return nil, nil, usageError{err}
	}
	var servers []*client.Client
	for _, s := range g.Server {
		cl, err := g.clientOf(s)
		if err != nil {
			return nil, nil, usageError{fmt.Errorf("--server: %w", err)}
		}
		servers = append(servers, cl)
	}
	check, err := c.check()
	if err != nil {
		return nil, nil, usageError{err}
	}
	ids, imdsClient := c.identity()
	cfg := agent.Config{Servers: servers, Zone: c.Zone, Name: c.Name, Type: c.Type, Weight: c.Weight, TTL: c.TTL,
		Lease: c.Lease, Margin: c.DrainMargin, Check: check, Identity: ids, Logger: log, HTTPOnly: c.Renew == "http",
		RequestTimeout: c.RequestTimeout, IdentityWait: c.IdentityTimeout, Backoff: agent.Backoff{Min: c.BackoffMin, Max: c.BackoffMax}}
	if c.Once == "register" {
		cfg.Lease = 0
	}
	if err := c.configureEC2(&cfg, imdsClient, log); err != nil {
		return nil, nil, usageError{err}
	}
	if err := c.configureRoute53(g.ctx, &cfg); err != nil {
		return nil, nil, err
	}
	return agent.New(cfg), imdsClient, nil
}

// validate checks the flags that need no network, so that a mistake ends
// the agent at once (exit 2) instead of being retried.
func (c *AgentCmd) validate() error {
	switch {
	case c.Weight < 0 || c.Weight > record.MaxWeight:
		return fmt.Errorf("--weight %d: allowed 0..%d", c.Weight, record.MaxWeight)
	case c.Lease != 0 && c.Lease < 3*time.Second:
		return fmt.Errorf("--lease %s: allowed 0 or at least 3s (renewals go every third of it)", c.Lease)
	case c.Identity == "static" && c.SetID == "":
		return errors.New("--identity static needs --set-id")
	case c.Identity == "static" && c.Address == "":
		return errors.New("--identity static needs --address")
	case c.AddressFrom != "" && c.Identity != "ec2":
		return fmt.Errorf("--address-from %s: only with --identity ec2", c.AddressFrom)
	case c.AddressFrom != "" && c.Address != "":
		return errors.New("--address-from and --address: give one (--address wins over any discovered address)")
	case c.CompleteLifecycleHook != "" && c.AsgName == "":
		return errors.New("--complete-lifecycle-hook needs --asg-name")
	case c.RequestTimeout <= 0:
		return fmt.Errorf("--request-timeout %s: must be positive", c.RequestTimeout)
	case c.IdentityTimeout <= 0:
		return fmt.Errorf("--identity-timeout %s: must be positive", c.IdentityTimeout)
	}
	if _, err := netip.ParseAddr(c.Address); c.Address != "" && err != nil {
		return fmt.Errorf("--address %q: not an IP address", c.Address)
	}
	return nil
}

func (c *AgentCmd) check() (*record.Check, error) {
	if c.Check == "" {
		return nil, nil
	}
	timeout := c.CheckTimeout
	if timeout == 0 {
		timeout = min(time.Second, c.CheckInterval)
	}
	chk := &record.Check{Target: c.Check, Interval: record.Duration(c.CheckInterval), Timeout: record.Duration(timeout), Rise: c.Rise, Fall: c.Fall}
	if err := chk.Normalize(true); err != nil {
		var fe *record.FieldError
		if errors.As(err, &fe) {
			return nil, fmt.Errorf("--%s: %s", strings.ReplaceAll(fe.Field, "_", "-"), fe.Message)
		}
		return nil, err
	}
	return chk, nil
}

func (c *AgentCmd) identity() (agent.IdentitySource, *imds.Client) {
	var imdsClient *imds.Client
	// IMDSv2 only: no silent fallback to tokenless IMDSv1 when the token
	// request fails (its error then says why, e.g. the hop limit).
	opts := imds.Options{Endpoint: c.ImdsEndpoint, EnableFallback: aws.FalseTernary}
	if c.Identity == "ec2" || c.CompleteLifecycleHook != "" {
		imdsClient = imds.New(opts)
	}
	switch c.Identity {
	case "static":
		return agent.Static{SetID: c.SetID, Address: c.Address}, imdsClient
	case "ec2":
		// One attempt per question: the agent retries with its own
		// backoff and bound (--identity-timeout), and a failure then
		// tells its cause.
		opts.Retryer = retry.AddWithMaxAttempts(retry.NewStandard(), 1)
		return agent.EC2{Client: imds.New(opts), Endpoint: c.ImdsEndpoint, From: c.AddressFrom, SetID: c.SetID, Address: c.Address}, imdsClient
	}
	return agent.Host{Address: c.Address}, imdsClient
}
