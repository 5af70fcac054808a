// Package cli is the dnslb command line: one file per command, and the one
// place that wires the other packages together (it alone picks a store).
package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/alecthomas/kong"

	"github.com/dnslb/dnslb/internal/api/client"
)

// Globals are the flags every client command shares.
type Globals struct {
	Server string `help:"URL of the dnslb API." default:"http://127.0.0.1:5380" env:"DNSLB_SERVER"`
	JSON   bool   `help:"Print JSON for scripts instead of a table."`

	ctx     context.Context // ends on SIGINT or SIGTERM (but for the agent)
	signals <-chan os.Signal
	stdout  io.Writer
	stderr  io.Writer
}

func (g *Globals) client() (*client.Client, error) { return client.New(g.Server, nil) }

type root struct {
	Globals

	Serve   ServeCmd   `cmd:"" help:"Run the authoritative DNS server and its HTTP API."`
	Zone    ZoneCmd    `cmd:"" help:"Create, list and delete zones."`
	Record  RecordCmd  `cmd:"" help:"Set, list and remove record sets."`
	Agent   AgentCmd   `cmd:"" help:"Run on an instance: register it, keep it alive, drain it on shutdown."`
	Brake   BrakeCmd   `cmd:"" help:"Show or release the mass-expiry brake."`
	Version VersionCmd `cmd:"" help:"Print the version."`
}

const description = `dnslb: load balancing a fleet through DNS, without a load balancer.

Instances register weighted record sets under one name; dnslb serves them
with Route 53 weighted-routing semantics from its own authoritative DNS
server.`

// exit carries kong's exit code out of Parse (for --help and usage errors).
type exit int

// Main runs the command line args and returns the process exit code.
func Main(args []string, stdout, stderr io.Writer) (code int) {
	var cli root
	cli.stdout, cli.stderr = stdout, stderr
	defer func() {
		if v := recover(); v != nil {
			e, ok := v.(exit)
			if !ok {
				panic(v)
			}
			code = int(e)
		}
	}()
	parser, err := kong.New(&cli, kong.Name("dnslb"), kong.Description(description),
		kong.Writers(stdout, stderr), kong.Exit(func(c int) { panic(exit(c)) }),
		kong.UsageOnError(), kong.ConfigureHelp(kong.HelpOptions{Compact: true}))
	if err != nil {
		fmt.Fprintln(stderr, "dnslb:", err)
		return 2
	}
	kctx, err := parser.Parse(args)
	if err != nil {
		parser.FatalIfErrorf(err)
	}
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cli.ctx, cli.signals = ctx, sigs
	if !strings.HasPrefix(kctx.Command(), "agent") { // the agent reads signals itself
		go func() {
			select {
			case <-sigs:
				cancel()
			case <-ctx.Done():
			}
		}()
	}
	if err := kctx.Run(&cli.Globals); err != nil {
		fmt.Fprintln(stderr, "dnslb:", err)
		return 1
	}
	return 0
}

// VersionCmd prints the version.
type VersionCmd struct{}

// Version is set at build time with -ldflags "-X .../cli.Version=v1.2.3".
var Version = "dev"

// Run prints the version.
func (VersionCmd) Run(g *Globals) error {
	_, err := fmt.Fprintln(g.stdout, "dnslb", Version)
	return err
}
