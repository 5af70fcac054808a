package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/dnslb/dnslb/internal/api/client"
	"github.com/dnslb/dnslb/internal/record"
)

// propValue is the address the i-th timed write sets: 127.0.3.1 ..
// 127.0.3.250, cycling. A warm-up write first sets propSentinel, which is
// never one of them, so that every timed write changes the answer.
func propValue(i int) net.IP { return net.IPv4(127, 0, 3, byte(i%250+1)) }

func propSentinel() net.IP { return net.IPv4(127, 0, 3, 254) }

// propagateReport is the result of a propagate run, as printed with --json.
type propagateReport struct {
	Writes  int     `json:"writes"`
	Via     string  `json:"via"`
	Name    string  `json:"name"`
	API     summary `json:"api_call"`
	Answer  summary `json:"write_to_answer"`
	Retried int     `json:"writes_needing_more_than_one_query"`
	Queries int     `json:"dns_queries"`
	DNSErrs int     `json:"dns_errors"`
	Failed  int     `json:"writes_never_answered"`
	// TargetP99 is the write-to-answer p99 target in ms (0: none); Met says
	// whether the run met it.
	TargetP99 float64 `json:"target_p99_ms,omitempty"`
	Met       bool    `json:"met"`
}

func runPropagate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("propagate", "[--api URL] [--dns HOST:PORT] [--zone Z] [--n N] [--json]",
		`Writes the simple A record NAME (default prop) N times through the API, each
time with a new address (127.0.3.1 .. 127.0.3.250, cycling), and after each
write queries DNS over UDP in a tight loop until the answer carries the new
address. The clock starts just before the API call. Reports the API call's
duration and the write-to-answer time (count, p50, p90, p99, max) and how many
writes needed more than one DNS query. Exits 1 when the write-to-answer p99
misses --target-p99 or a write never shows in DNS.`, stderr)
	api := fs.String("api", defaultAPI, "dnslb API `URL`")
	dnsAddr := fs.String("dns", defaultDNS, "dnslb DNS address `HOST:PORT`")
	zone := fs.String("zone", defaultZone, "zone of the name (it must exist)")
	n := fs.Int("n", 1000, "number of timed writes")
	name := fs.String("name", "prop", "name to write, relative to the zone")
	via := fs.String("via", "changes", "API call: changes (POST .../changes, one UPSERT) or put (PUT .../rrsets)")
	ttl := fs.Int64("ttl", 60, "TTL of the record")
	wait := fs.Duration("timeout", 2*time.Second, "give up on a write not answered in DNS within this time")
	qtimeout := fs.Duration("query-timeout", 250*time.Millisecond, "timeout of one DNS query")
	target := fs.Duration("target-p99", 50*time.Millisecond, "write-to-answer p99 target (0: none)")
	asJSON := fs.Bool("json", false, "print one JSON object instead of a table")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *n < 1 {
		return usageError(fs, "--n %d: want at least 1", *n)
	}
	if *via != "changes" && *via != "put" {
		return usageError(fs, "--via %q: allowed changes, put", *via)
	}
	c, err := newClient(*api, 1)
	if err != nil {
		return err
	}
	p := &prober{
		client: &dns.Client{Net: "udp", Timeout: *qtimeout},
		qname:  dns.Fqdn(strings.TrimSuffix(*name, ".") + "." + strings.TrimSuffix(*zone, ".")),
	}
	if p.conn, err = p.client.Dial(*dnsAddr); err != nil {
		return fmt.Errorf("dns %s: %w", *dnsAddr, err)
	}
	defer p.conn.Close()
	write := func(ip net.IP) error {
		req := client.SetRequest{Name: *name, Type: string(record.A), TTL: ttl, Values: []string{ip.String()}}
		if *via == "put" {
			_, err := c.PutSet(ctx, *zone, req)
			return err
		}
		_, err := c.Change(ctx, *zone, client.ChangeBatch{Changes: []client.Change{{Action: "UPSERT", RRSet: req}}})
		return err
	}

	// Warm up: the connection, the name and the answer path, untimed.
	if err := write(propSentinel()); err != nil {
		return err
	}
	if _, err := p.await(ctx, propSentinel(), time.Now().Add(*wait)); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}

	rep := propagateReport{Writes: *n, Via: *via, Name: p.qname, TargetP99: ms(*target)}
	apiTimes := make([]time.Duration, 0, *n)
	answerTimes := make([]time.Duration, 0, *n)
	for i := range *n {
		want := propValue(i)
		start := time.Now()
		if err := write(want); err != nil {
			return fmt.Errorf("write %d: %w", i, err)
		}
		apiTimes = append(apiTimes, time.Since(start))
		res, err := p.await(ctx, want, start.Add(*wait))
		rep.Queries += res.queries
		rep.DNSErrs += res.errors
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err != nil:
			rep.Failed++
			fmt.Fprintf(stderr, "harness propagate: write %d: %v\n", i, err)
			continue
		}
		answerTimes = append(answerTimes, res.at.Sub(start))
		if res.queries > 1 {
			rep.Retried++
		}
	}
	rep.API, rep.Answer = summarize(apiTimes), summarize(answerTimes)
	rep.Met = rep.Failed == 0 && (*target == 0 || rep.Answer.P99 <= *target)

	if *asJSON {
		err = writeJSON(stdout, rep)
	} else {
		err = printPropagate(stdout, rep, *target)
	}
	if err != nil {
		return err
	}
	if !rep.Met {
		return fmt.Errorf("target missed: write-to-answer p99 %s ms (target %s ms), %d writes never answered",
			fmtMS(rep.Answer.P99), fmtMS(*target), rep.Failed)
	}
	return nil
}

func printPropagate(w io.Writer, rep propagateReport, target time.Duration) error {
	fmt.Fprintf(w, "propagate: %d writes of %s A via %s\n", rep.Writes, rep.Name, rep.Via)
	if err := writeSummaries(w, []string{"api call", "write-to-answer"}, []summary{rep.API, rep.Answer}); err != nil {
		return err
	}
	fmt.Fprintf(w, "writes needing more than one DNS query: %d of %d (DNS queries %d, DNS errors %d, never answered %d)\n",
		rep.Retried, rep.Writes, rep.Queries, rep.DNSErrs, rep.Failed)
	if target > 0 {
		verdict := "met"
		if !rep.Met {
			verdict = "MISSED"
		}
		fmt.Fprintf(w, "target write-to-answer p99 <= %s ms: %s (p99 %s ms)\n", fmtMS(target), verdict, fmtMS(rep.Answer.P99))
	}
	return nil
}

// prober asks one DNS server for one name over a single UDP socket.
type prober struct {
	client *dns.Client
	conn   *dns.Conn
	qname  string
}

// awaitResult tells when the wanted answer came and what it cost.
type awaitResult struct {
	at      time.Time // when the first answer carrying the value arrived
	queries int       // queries sent, the answering one included
	errors  int       // queries that failed (timeouts, bad replies)
}

// await queries until an answer carries want, or deadline passes.
func (p *prober) await(ctx context.Context, want net.IP, deadline time.Time) (awaitResult, error) {
	var res awaitResult
	for {
		m := new(dns.Msg)
		m.SetQuestion(p.qname, dns.TypeA)
		r, _, err := p.client.ExchangeWithConnContext(ctx, m, p.conn)
		res.queries++
		now := time.Now()
		switch {
		case ctx.Err() != nil:
			return res, ctx.Err()
		case err != nil:
			res.errors++
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				// Not a lost packet: avoid spinning on a refused port.
				time.Sleep(time.Millisecond)
			}
		case hasA(r, want):
			res.at = now
			return res, nil
		}
		if now.After(deadline) {
			return res, fmt.Errorf("%s A %s not answered after %d queries", p.qname, want, res.queries)
		}
	}
}

// hasA reports whether r answers with the address want.
func hasA(r *dns.Msg, want net.IP) bool {
	for _, rr := range r.Answer {
		if a, ok := rr.(*dns.A); ok && a.A.Equal(want) {
			return true
		}
	}
	return false
}
