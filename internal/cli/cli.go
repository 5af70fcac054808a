// Package cli is the dnslb command line: one file per command, and the one
// place that wires the other packages together (it alone picks a store).
package cli

import (
	"context"
	"errors"
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
	Server    []string `help:"URL of the dnslb API. The agent takes several (comma-separated or repeated) and fails over between them." default:"http://127.0.0.1:5380" env:"DNSLB_SERVER"`
	JSON      bool     `help:"Print JSON for scripts instead of a table."`
	Token     string   `help:"API bearer token (from 'dnslb token create'); prefer DNSLB_TOKEN or --token-file, which other users cannot see in ps." env:"DNSLB_TOKEN"`
	TokenFile string   `name:"token-file" help:"File holding the API bearer token." type:"path"`
	CA        string   `name:"ca" help:"PEM file of the CA that signs the server's certificate (https --server)." type:"path"`
	Config    string   `name:"config" type:"path" env:"DNSLB_CONFIG" placeholder:"FILE" help:"YAML file of settings for serve or agent, keyed by their flag names; flags and DNSLB_<FLAG> variables override it (see 'dnslb config check')."`

	ctx     context.Context // ends on SIGINT or SIGTERM (but for the agent)
	signals <-chan os.Signal
	hup     <-chan os.Signal // SIGHUP, for serve only: others keep its default (exit)
	stdout  io.Writer
	stderr  io.Writer
}

func (g *Globals) client() (*client.Client, error) {
	if len(g.Server) != 1 {
		return nil, usagef("--server: this command takes one server, got %d; only the agent takes several", len(g.Server))
	}
	return g.clientOf(g.Server[0])
}

// clientOf is a client of the server at base with the token and CA of the
// flags.
func (g *Globals) clientOf(base string) (*client.Client, error) {
	token, err := g.token()
	if err != nil {
		return nil, err
	}
	return client.Open(base, client.Options{Token: token, CA: g.CA})
}

type root struct {
	Globals

	Serve      ServeCmd      `cmd:"" help:"Run the authoritative DNS server and its HTTP API."`
	Zone       ZoneCmd       `cmd:"" help:"Create, list and delete zones."`
	Record     RecordCmd     `cmd:"" help:"Set, list and remove record sets."`
	Agent      AgentCmd      `cmd:"" help:"Run on an instance: register it, keep it alive, drain it on shutdown."`
	Brake      BrakeCmd      `cmd:"" help:"Show or release the mass-expiry brake."`
	Status     StatusCmd     `cmd:"" help:"Show the pool: every name's sets, shares, health, leases and drains (--watch to follow)."`
	Explain    ExplainCmd    `cmd:"" help:"Say why each set of a name is or is not answered, and with what probability."`
	History    HistoryCmd    `cmd:"" help:"List the transitions of a name's sets: registered, changed, drained, lapsed, health, and by which token."`
	Backup     BackupCmd     `cmd:"" help:"Copy a running server's data, consistently, to a file."`
	Restore    RestoreCmd    `cmd:"" help:"Replace a stopped server's data file with a backup (the old file is kept aside)."`
	Token      TokenCmd      `cmd:"" help:"Make API tokens for serve --tokens."`
	Version    VersionCmd    `cmd:"" help:"Print the version and the commit it was built from (--json for scripts)."`
	Config     ConfigCmd     `cmd:"" help:"Check a config file of serve or agent."`
	Completion CompletionCmd `cmd:"" help:"Print the shell completion script for bash, zsh or fish."`
	Man        ManCmd        `cmd:"" help:"Print the manual page dnslb(1), in roff (man -l - reads it)."`

	ShowVersion kong.VersionFlag `name:"version" help:"Print the version and exit."`

	config *configResolver // the --config file, read before kong resolves flags
}

// BeforeResolve reads the config file (kong calls it once flags are traced).
func (r *root) BeforeResolve(kctx *kong.Context) error { return r.config.load(kctx) }

const description = `dnslb: load balancing a fleet through DNS, without a load balancer.

Instances register weighted record sets under one name; dnslb serves them
with Route 53 weighted-routing semantics from its own authoritative DNS
server.`

// exit carries kong's exit code out of Parse (for --help and --version).
type exit int

// Exit codes of Main.
const (
	exitOK    = 0
	exitError = 1 // the command ran and failed
	exitUsage = 2 // the command line is wrong; nothing was done
)

// usageError is a command line the parser accepted but the command
// refuses before doing anything (e.g. --set-id without --weight): Main
// exits 2 for it.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

// ExitCode is the process exit code (kong.ExitCoder).
func (usageError) ExitCode() int { return exitUsage }

// usagef returns a usageError.
func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// Main runs the command line args and returns the process exit code.
func Main(args []string, stdout, stderr io.Writer) (code int) {
	cli := root{config: &configResolver{}}
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
	parser, err := newParser(&cli, kong.Exit(func(c int) { panic(exit(c)) }))
	if err != nil {
		fmt.Fprintln(stderr, "dnslb:", err)
		return exitUsage
	}
	kctx, err := parser.Parse(args)
	if err != nil {
		fmt.Fprintf(stderr, "dnslb: %v\n%s", err, helpHint(err))
		return exitUsage
	}
	if cli.config.file != nil {
		for _, w := range cli.config.file.warnings {
			fmt.Fprintln(stderr, "dnslb: warning:", w)
		}
	}
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cli.ctx, cli.signals = ctx, sigs
	if kctx.Command() == "serve" { // a server survives its terminal closing
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
		cli.hup = hup
	}
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
		if cmd := kctx.Command(); strings.HasPrefix(cmd, "record ") || strings.HasPrefix(cmd, "zone ") {
			err = cliError(err) // their flags and arguments are the API's fields
		}
		err = annotate(err, kctx, cli.config.file)
		fmt.Fprintln(stderr, "dnslb:", err)
		var ec kong.ExitCoder
		if errors.As(err, &ec) {
			return ec.ExitCode()
		}
		return exitError
	}
	return exitOK
}

// newParser is kong's parser of the command line into cli; the man page and
// the completion scripts are generated from the same model.
func newParser(cli *root, opts ...kong.Option) (*kong.Kong, error) {
	return kong.New(cli, append([]kong.Option{kong.Name("dnslb"), kong.Description(description),
		kong.Writers(cli.stdout, cli.stderr), kong.Vars{"version": versionLine(readBuildInfo())},
		kong.Help(help), kong.ConfigureHelp(kong.HelpOptions{Compact: true}),
		kong.Resolvers(cli.config), kong.PostBuild(addEnvars)}, opts...)...)
}

// helpHint tells where the usage of the command that failed to parse is.
func helpHint(err error) string {
	path := "dnslb"
	var pe *kong.ParseError
	if errors.As(err, &pe) && pe.Context != nil {
		if n := pe.Context.Selected(); n != nil {
			path += " " + n.Path()
		}
	}
	return fmt.Sprintf("Run '%s --help' for usage.\n", path)
}

// help is kong's help, without the flags a command does not use: serve
// listens (--api) rather than connects (--server), neither serve nor agent
// prints JSON, and version asks no server.
func help(opts kong.HelpOptions, ctx *kong.Context) error {
	hide := map[string]bool{}
	if n := ctx.Selected(); n != nil {
		hide = unusedGlobals(n.Path())
	}
	for _, f := range ctx.Model.Flags {
		if hide[f.Name] && !f.Hidden {
			f.Hidden = true
			defer func() { f.Hidden = false }()
		}
	}
	return kong.DefaultHelpPrinter(opts, ctx)
}

// unusedGlobals are the global flags the command at path (e.g. "record
// set") does not use: help, the man page and completions leave them out.
func unusedGlobals(path string) map[string]bool {
	hide := map[string]bool{}
	first, _, _ := strings.Cut(path, " ")
	switch first {
	case "serve":
		hide["server"], hide["json"], hide["token"], hide["token-file"], hide["ca"] = true, true, true, true, true
	case "agent":
		hide["json"] = true
	case "version", "token", "config", "completion", "man":
		hide["server"], hide["token"], hide["token-file"], hide["ca"] = true, true, true, true
	}
	switch first {
	case "serve", "agent", "config":
	default:
		hide["config"] = true
	}
	return hide
}
