// Command harness drives a running `dnslb serve` for the performance targets
// of issue #5: loading many record sets (load), the time from an API write to
// the DNS answer that carries it (propagate), and lease renewals at fleet
// scale (leases). It speaks to the server through its HTTP API, with the
// same Go client the CLI and the agent use, and through its DNS port.
//
// Usage:
//
//	harness load      --api URL --zone Z --names 10000 --sets 10 --queries FILE
//	harness propagate --api URL --dns HOST:PORT --zone Z --n 1000
//	harness leases    --api URL --zone Z --n 10000 --lease 15s --every 5s --duration 60s
//
// `harness -h` lists the subcommands and `harness SUB -h` documents one. The
// scripts bench/scale.sh, bench/propagation.sh and bench/leases.sh start the
// server and run these.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// command is one subcommand: it parses its own flags from args and writes
// its report to stdout.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// commands lists the subcommands in the order of the usage text.
func commands() []command {
	return []command{
		{"load", "create weighted names through the API and write a dnsperf query file", runLoad},
		{"propagate", "measure the time from an API write to a DNS answer carrying it", runPropagate},
		{"leases", "register leased sets and renew them all at a fixed rate", runLeases},
	}
}

// Exit codes.
const (
	exitOK     = 0
	exitFailed = 1 // an error, or a measured target was missed
	exitUsage  = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run dispatches to a subcommand and maps its result to an exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		switch err := c.run(ctx, args[1:], stdout, stderr); {
		case err == nil, errors.Is(err, errHelp):
			return exitOK
		case errors.Is(err, errUsage):
			return exitUsage
		default:
			fmt.Fprintf(stderr, "harness %s: %v\n", c.name, err)
			return exitFailed
		}
	}
	fmt.Fprintf(stderr, "harness: unknown command %q\n\n", args[0])
	usage(stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: harness COMMAND [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Benchmark harness for dnslb (issue #5). Commands:")
	fmt.Fprintln(w)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run `harness COMMAND -h` for the flags of one.")
}

// Sentinels that parseFlags returns so that run picks the exit code.
var (
	errUsage = errors.New("usage")
	errHelp  = errors.New("help")
)
