package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/dnslb/dnslb/internal/api/client"
	"github.com/dnslb/dnslb/internal/registry"
)

// Flag defaults shared by the subcommands: those of `dnslb serve`.
const (
	defaultAPI  = "http://127.0.0.1:5380"
	defaultDNS  = "127.0.0.1:5300"
	defaultZone = "lb.test"
)

// newFlagSet returns a flag set for subcommand name whose -h output shows
// the synopsis and description before the flags.
func newFlagSet(name, synopsis, description string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("harness "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: harness %s %s\n\n%s\n\nflags:\n", name, synopsis, description)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args into fs and refuses positional arguments. It
// returns errHelp for -h and errUsage (after printing why) for bad flags.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "%s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		fs.Usage()
		return errUsage
	}
	return nil
}

// usageError prints msg and the usage of fs, and returns errUsage.
func usageError(fs *flag.FlagSet, format string, args ...any) error {
	fmt.Fprintf(fs.Output(), "%s: %s\n", fs.Name(), fmt.Sprintf(format, args...))
	fs.Usage()
	return errUsage
}

// newClient returns an API client whose keep-alive pool holds conns idle
// connections, so that that many concurrent callers reuse their connections
// instead of dialling anew (http.DefaultTransport keeps only 2 per host).
func newClient(api string, conns int) (*client.Client, error) {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     90 * time.Second,
	}
	return client.New(api, &http.Client{Transport: tr, Timeout: time.Minute})
}

// applyBatches sends changes to zone through the changes endpoint, at most
// size in one all-or-nothing batch, in order, and returns how long each
// batch took.
func applyBatches(ctx context.Context, c *client.Client, zone string, changes []client.Change, size int) ([]time.Duration, error) {
	var took []time.Duration
	for start := 0; start < len(changes); start += size {
		end := min(start+size, len(changes))
		t0 := time.Now()
		if _, err := c.Change(ctx, zone, client.ChangeBatch{Changes: changes[start:end]}); err != nil {
			return took, fmt.Errorf("changes %d..%d of %d: %w", start, end-1, len(changes), err)
		}
		took = append(took, time.Since(t0))
	}
	return took, nil
}

// checkBatchSize validates a --batch flag against the server's limit.
func checkBatchSize(fs *flag.FlagSet, size int) error {
	if size < 1 || size > registry.MaxChanges {
		return usageError(fs, "--batch %d: allowed 1..%d (the server's limit per batch)", size, registry.MaxChanges)
	}
	return nil
}

// ptr returns a pointer to a copy of v, for the optional fields of
// client.SetRequest.
func ptr[T any](v T) *T { return &v }

// writeJSON writes v as one indented JSON object.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// rate is events per second over d.
func rate(events int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(events) / d.Seconds()
}
