package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dnslb/dnslb/internal/api/client"
	"github.com/dnslb/dnslb/internal/heartbeat"
	"github.com/dnslb/dnslb/internal/record"
)

// leaseKey is one leased set: set id lI under name PREFIX(I / per-name).
type leaseKey struct {
	name  string
	setID string
}

// leasesReport is the result of a leases run, as printed with --json.
type leasesReport struct {
	Sets     int     `json:"sets"`
	Names    int     `json:"names"`
	Lease    string  `json:"lease"`
	Every    string  `json:"every"`
	Duration string  `json:"duration"`
	Workers  int     `json:"workers"`
	Via      string  `json:"via"`
	UDPTick  string  `json:"udp_tick,omitempty"`
	Register float64 `json:"register_s"`
	Tokens   float64 `json:"tokens_s,omitempty"` // --via udp: the first HTTP renewals, which hand out the tokens

	Scheduled  int            `json:"renewals_scheduled"`
	Done       int            `json:"renewals_done"`
	Errors     int            `json:"errors"`
	ErrorKinds map[string]int `json:"error_kinds,omitempty"`
	Elapsed    float64        `json:"elapsed_s"`
	TargetRate float64        `json:"target_rate"`
	Rate       float64        `json:"achieved_rate"`
	MinShare   float64        `json:"min_share"`
	Latency    summary        `json:"renew_latency"`
	Lag        summary        `json:"start_lag"`

	Expired    int     `json:"expired_at_end"`
	Ineligible int     `json:"ineligible_at_end"`
	Missing    int     `json:"missing_at_end"`
	ListMS     float64 `json:"list_ms"`
	Met        bool    `json:"met"`
}

func runLeases(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("leases", "[--api URL] [--zone Z] [--n N] [--lease 15s] [--every 5s] [--duration 60s] [--workers 32]",
		`Registers N leased weighted A sets (set ids l0..l(N-1), weight 1, distinct
addresses) through the changes endpoint in batches, then renews every one of
them once per --every, spread evenly over the interval (N / every renewals a
second), from --workers goroutines sharing one keep-alive HTTP client, for
--duration. With --via udp (the default, as the agent does) each set is
renewed once over HTTP first, which hands out its heartbeat token, and then
by UDP heartbeats (one socket per worker); --via http renews over HTTP
only. A name holds at most --per-name weighted sets (the server allows
100 per name and type), so the sets are spread over names NAME0, NAME1, ...
Then it reports renewals, errors, the achieved rate, renewal latency, how
many of the sets the server lists as expired, and deletes the sets (unless
--keep). Exits 1 when the achieved rate is below --min-share of the target.`, stderr)
	api := fs.String("api", defaultAPI, "dnslb API `URL`")
	zone := fs.String("zone", defaultZone, "zone of the sets (it must exist)")
	n := fs.Int("n", 10000, "number of leased sets")
	prefix := fs.String("name", "leased", "name prefix: the sets live under PREFIX0, PREFIX1, ...")
	perName := fs.Int("per-name", record.MaxWeightedSets, "weighted sets per name")
	lease := fs.Duration("lease", 15*time.Second, "lease of every set")
	every := fs.Duration("every", 5*time.Second, "renew each set once per this interval")
	duration := fs.Duration("duration", 60*time.Second, "how long to renew")
	workers := fs.Int("workers", 32, "concurrent renewals (goroutines and keep-alive connections)")
	ttl := fs.Int64("ttl", 60, "TTL of the sets")
	batch := fs.Int("batch", 1000, "changes per registration batch")
	minShare := fs.Float64("min-share", 0.9, "fail unless the achieved rate is at least this share of the target")
	readyFile := fs.String("ready-file", "", "create this `file` once registration is done and renewals start")
	keep := fs.Bool("keep", false, "leave the sets registered at the end (they expire when their leases lapse)")
	asJSON := fs.Bool("json", false, "print one JSON object instead of a report")
	via := fs.String("via", "udp", "renew by `udp` heartbeats (after one HTTP renewal each) or over http only")
	udpTick := fs.Duration("udp-tick", 0, "with --via udp: send every `tick` all heartbeats due, in one batch from one socket (cheaper for the harness's core) instead of one socket per worker")
	hbTo := fs.String("heartbeat-to", "", "send heartbeats to this `HOST:PORT` instead of where the server says (a control: to a closed port, it measures the client's own cost)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case *via != "udp" && *via != "http":
		return usageError(fs, "--via %q: allowed udp or http", *via)
	case *n < 1 || *n > 1<<16:
		return usageError(fs, "--n %d: allowed 1..%d", *n, 1<<16)
	case *perName < 1 || *perName > record.MaxWeightedSets:
		return usageError(fs, "--per-name %d: allowed 1..%d", *perName, record.MaxWeightedSets)
	case *lease < record.MinLease || *lease > record.MaxLease:
		return usageError(fs, "--lease %s: allowed %s..%s", *lease, record.MinLease, record.MaxLease)
	case *every <= 0 || *duration <= 0:
		return usageError(fs, "--every and --duration must be positive")
	case *workers < 1:
		return usageError(fs, "--workers %d: want at least 1", *workers)
	}
	if err := checkBatchSize(fs, *batch); err != nil {
		return err
	}
	c, err := newClient(*api, *workers)
	if err != nil {
		return err
	}
	keys := leaseKeys(*prefix, *n, *perName)
	rep := leasesReport{Sets: *n, Names: (*n + *perName - 1) / *perName, Lease: lease.String(), Every: every.String(),
		Duration: duration.String(), Workers: *workers, Via: *via, TargetRate: rate(*n, *every), MinShare: *minShare}

	t0 := time.Now()
	if _, err := applyBatches(ctx, c, *zone, registerChanges(keys, *lease, *ttl), *batch); err != nil {
		return fmt.Errorf("register: %w", err)
	}
	rep.Register = time.Since(t0).Seconds()
	// Whatever happens next, take the sets away again: left behind they
	// would lapse and be deleted in the middle of a later measurement.
	if !*keep {
		defer func() {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			defer cancel()
			if _, err := applyBatches(cctx, c, *zone, deleteChanges(keys), *batch); err != nil {
				fmt.Fprintf(stderr, "harness leases: cleanup: %v\n", err)
			}
		}()
	}
	if *readyFile != "" {
		if err := os.WriteFile(*readyFile, []byte(time.Now().Format(time.RFC3339Nano)+"\n"), 0o644); err != nil {
			return err
		}
	}

	var r renewer = httpRenewer{c: c, zone: *zone}
	if *via == "udp" {
		t1 := time.Now()
		hr, err := newUDPRenewer(ctx, c, *api, *zone, keys, *workers)
		if err != nil {
			return fmt.Errorf("heartbeat tokens: %w", err)
		}
		if *hbTo != "" {
			hr.addr = *hbTo
		}
		rep.Tokens = time.Since(t1).Seconds()
		r = hr
	}
	if hr, ok := r.(*udpRenewer); ok && *udpTick > 0 {
		rep.UDPTick = udpTick.String()
		if err := renewPaced(ctx, hr.addr, hr.creds, *every, *duration, *udpTick, &rep); err != nil {
			return err
		}
	} else {
		renewAll(ctx, r, keys, *every, *duration, *workers, &rep)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err := leaseStatus(ctx, c, *zone, keys, &rep); err != nil {
		return fmt.Errorf("status: %w", err)
	}
	rep.Met = rep.Rate >= *minShare*rep.TargetRate

	if *asJSON {
		err = writeJSON(stdout, rep)
	} else {
		err = printLeases(stdout, rep, *prefix)
	}
	if err != nil {
		return err
	}
	if !rep.Met {
		return fmt.Errorf("target missed: %.0f renewals/s is below %.0f%% of %.0f/s", rep.Rate, 100**minShare, rep.TargetRate)
	}
	return nil
}

// leaseKeys names n sets, perName to a name.
func leaseKeys(prefix string, n, perName int) []leaseKey {
	keys := make([]leaseKey, n)
	for i := range keys {
		keys[i] = leaseKey{name: fmt.Sprintf("%s%d", prefix, i/perName), setID: fmt.Sprintf("l%d", i)}
	}
	return keys
}

// registerChanges returns UPSERTs of the leased sets: weight 1, set i
// answering 10.250.(i/256).(i%256).
func registerChanges(keys []leaseKey, lease time.Duration, ttl int64) []client.Change {
	changes := make([]client.Change, len(keys))
	for i, k := range keys {
		changes[i] = client.Change{Action: "UPSERT", RRSet: client.SetRequest{
			Name: k.name, Type: string(record.A), SetID: k.setID, Weight: ptr(1), TTL: ptr(ttl),
			Values: []string{fmt.Sprintf("10.250.%d.%d", i>>8, i&0xff)},
			Lease:  ptr(record.Duration(lease)),
		}}
	}
	return changes
}

// deleteChanges returns DELETEs of the leased sets.
func deleteChanges(keys []leaseKey) []client.Change {
	changes := make([]client.Change, len(keys))
	for i, k := range keys {
		changes[i] = client.Change{Action: "DELETE", RRSet: client.SetRequest{Name: k.name, Type: string(record.A), SetID: k.setID}}
	}
	return changes
}

// renewJob is one renewal and when the schedule wants it started.
type renewJob struct {
	i   int // into keys
	key leaseKey
	due time.Time
}

// renewer renews one set; each worker gets its own from worker.
type renewer interface {
	worker() (renew func(ctx context.Context, j renewJob) error, done func())
}

// httpRenewer renews over the HTTP API, through the shared keep-alive client.
type httpRenewer struct {
	c    *client.Client
	zone string
}

func (h httpRenewer) worker() (func(context.Context, renewJob) error, func()) {
	return func(ctx context.Context, j renewJob) error {
		_, err := h.c.Renew(ctx, h.zone, j.key.name, string(record.A), j.key.setID, nil)
		return err
	}, func() {}
}

// udpRenewer renews by heartbeat, one UDP socket per worker.
type udpRenewer struct {
	addr     string
	creds    []heartbeat.Credentials // by key index; the floor as handed out
	counters []atomic.Uint64         // by key index: counters taken so far
}

// newUDPRenewer renews every key once over HTTP, from workers goroutines,
// to collect the heartbeat tokens and the port.
func newUDPRenewer(ctx context.Context, c *client.Client, api, zone string, keys []leaseKey, workers int) (*udpRenewer, error) {
	u := &udpRenewer{creds: make([]heartbeat.Credentials, len(keys)), counters: make([]atomic.Uint64, len(keys))}
	ports, hosts := make([]int, len(keys)), make([]string, len(keys))
	idx := make(chan int)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range idx {
				st, err := c.Renew(ctx, zone, keys[i].name, string(record.A), keys[i].setID, nil)
				if err == nil && st.Heartbeat == nil {
					err = errors.New("the server offers no heartbeats (serve --heartbeat off?); use --via http")
				}
				if err == nil {
					u.creds[i], err = credentialsOf(st.Heartbeat)
					ports[i], hosts[i] = st.Heartbeat.Port, st.Heartbeat.Host
				}
				if err != nil {
					errs <- fmt.Errorf("%s/%s: %w", keys[i].name, keys[i].setID, err)
					return
				}
			}
		})
	}
	var err error
feed:
	for i := range keys {
		select {
		case idx <- i:
		case err = <-errs:
			break feed
		}
	}
	close(idx)
	wg.Wait()
	if err == nil && len(errs) > 0 {
		err = <-errs
	}
	if err != nil {
		return nil, err
	}
	host := hosts[0]
	if host == "" {
		base, err := url.Parse(api)
		if err != nil {
			return nil, err
		}
		host = base.Hostname()
	}
	u.addr = net.JoinHostPort(host, strconv.Itoa(ports[0]))
	return u, nil
}

func (u *udpRenewer) worker() (func(context.Context, renewJob) error, func()) {
	hb, err := heartbeat.Dial(u.addr)
	if err != nil {
		return func(context.Context, renewJob) error { return err }, func() {}
	}
	return func(ctx context.Context, j renewJob) error {
		c := u.creds[j.i] // every try takes a counter: take as many as Beat may use
		c.Counter += u.counters[j.i].Add(uint64(hb.Tries)) - uint64(hb.Tries)
		a, err := hb.Beat(ctx, &c, heartbeat.Unreported)
		if err == nil && a.Status != heartbeat.StatusOK {
			err = fmt.Errorf("heartbeat: %s", a.Status)
		}
		return err
	}, func() { hb.Close() }
}

// renewTally is what one worker saw.
type renewTally struct {
	latency []time.Duration // of successful renewals
	lag     []time.Duration // start time past due time, every renewal
	errors  map[string]int  // by errorKind
}

// renewAll renews keys round-robin, len(keys) per every, for duration: the
// k-th renewal is due at start + k·every/len(keys). A dispatcher hands due
// jobs to workers; when all workers are busy it waits, and the delay shows
// as start lag and a lower achieved rate rather than being hidden.
func renewAll(ctx context.Context, r renewer, keys []leaseKey, every, duration time.Duration, workers int, rep *leasesReport) {
	total := int(int64(len(keys)) * int64(duration) / int64(every))
	jobs := make(chan renewJob, workers)
	tallies := make([]renewTally, workers)
	var wg sync.WaitGroup
	for w := range tallies {
		wg.Go(func() { tallies[w] = renewWorker(ctx, r, jobs) })
	}

	start := time.Now()
	for k := range total {
		due := start.Add(time.Duration(int64(k) * int64(every) / int64(len(keys))))
		if !sleepUntil(ctx, due) {
			break
		}
		select {
		case jobs <- renewJob{i: k % len(keys), key: keys[k%len(keys)], due: due}:
		case <-ctx.Done():
		}
	}
	close(jobs)
	wg.Wait()
	elapsed := time.Since(start)

	var latency, lag []time.Duration
	rep.ErrorKinds = map[string]int{}
	for _, t := range tallies {
		latency = append(latency, t.latency...)
		lag = append(lag, t.lag...)
		for kind, n := range t.errors {
			rep.ErrorKinds[kind] += n
			rep.Errors += n
		}
	}
	rep.Scheduled = total
	rep.Done = len(latency)
	rep.Elapsed = elapsed.Seconds()
	rep.Rate = rate(rep.Done, elapsed)
	rep.Latency, rep.Lag = summarize(latency), summarize(lag)
}

// renewWorker renews what it is handed until jobs is closed.
func renewWorker(ctx context.Context, r renewer, jobs <-chan renewJob) renewTally {
	t := renewTally{errors: map[string]int{}}
	renew, done := r.worker()
	defer done()
	for j := range jobs {
		t0 := time.Now()
		t.lag = append(t.lag, t0.Sub(j.due))
		if err := renew(ctx, j); err != nil {
			if ctx.Err() == nil {
				t.errors[errorKind(err)]++
			}
			continue
		}
		t.latency = append(t.latency, time.Since(t0))
	}
	return t
}

// errorKind classifies err into few distinct strings: the API's error code,
// "timeout", or the error text.
func errorKind(err error) string {
	var ae *client.Error
	var ne net.Error
	switch {
	case errors.As(err, &ae):
		return "api: " + ae.Code
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	}
	return err.Error()
}

// sleepUntil waits until t and reports whether it came before ctx ended.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// leaseStatus lists the A sets of every name in keys (one filtered request
// a name: a listing of a whole large zone is slow) and counts how many of
// keys the server reports expired, not eligible, or does not have.
func leaseStatus(ctx context.Context, c *client.Client, zone string, keys []leaseKey, rep *leasesReport) error {
	ours := make(map[leaseKey]bool, len(keys))
	var names []string
	for _, k := range keys {
		if len(names) == 0 || names[len(names)-1] != k.name {
			names = append(names, k.name)
		}
		ours[leaseKey{name: fqdn(k.name, zone), setID: k.setID}] = true
	}
	t0 := time.Now()
	seen := 0
	for _, name := range names {
		views, err := c.Sets(ctx, zone, name, string(record.A), "")
		if err != nil {
			return err
		}
		for _, v := range views {
			if !ours[leaseKey{name: fqdn(v.Name, zone), setID: v.SetID}] {
				continue
			}
			seen++
			if v.Status.State == "expired" {
				rep.Expired++
			}
			if !v.Status.Eligible {
				rep.Ineligible++
			}
		}
	}
	rep.ListMS = ms(time.Since(t0))
	rep.Missing = len(keys) - seen
	return nil
}

// fqdn makes name absolute in zone, lower case, without the final dot.
func fqdn(name, zone string) string {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	zone = strings.ToLower(strings.TrimSuffix(zone, "."))
	if name == zone || strings.HasSuffix(name, "."+zone) {
		return name
	}
	return name + "." + zone
}

func printLeases(w io.Writer, rep leasesReport, prefix string) error {
	fmt.Fprintf(w, "leases: %d sets under %d names (%s0..%s%d), lease %s, each renewed every %s for %s by %d workers\n",
		rep.Sets, rep.Names, prefix, prefix, rep.Names-1, rep.Lease, rep.Every, rep.Duration, rep.Workers)
	fmt.Fprintf(w, "registered in %.2fs; renewing via %s", rep.Register, rep.Via)
	if rep.Via == "udp" {
		fmt.Fprintf(w, " (heartbeat tokens from one HTTP renewal each, %.2fs)", rep.Tokens)
		if rep.UDPTick != "" {
			fmt.Fprintf(w, ", paced: all due heartbeats every %s from one socket", rep.UDPTick)
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "renewals: %d done of %d scheduled, %d errors, %.1f/s achieved of %.1f/s target (%.1f%%) over %.2fs\n",
		rep.Done, rep.Scheduled, rep.Errors, rep.Rate, rep.TargetRate, 100*rep.Rate/rep.TargetRate, rep.Elapsed)
	for kind, n := range rep.ErrorKinds {
		fmt.Fprintf(w, "  error %q: %d\n", kind, n)
	}
	if err := writeSummaries(w, []string{"renew latency", "start lag"}, []summary{rep.Latency, rep.Lag}); err != nil {
		return err
	}
	fmt.Fprintf(w, "at the end the server lists %d of %d sets expired, %d not eligible, %d missing (listing took %.1f ms)\n",
		rep.Expired, rep.Sets, rep.Ineligible, rep.Missing, rep.ListMS)
	verdict := "met"
	if !rep.Met {
		verdict = "MISSED"
	}
	_, err := fmt.Fprintf(w, "target achieved rate >= %.0f%% of %.0f/s: %s\n", 100*rep.MinShare, rep.TargetRate, verdict)
	return err
}

// credentialsOf reads the heartbeat credentials of a renewal.
func credentialsOf(hb *record.Heartbeat) (heartbeat.Credentials, error) {
	tok, err := heartbeat.ParseToken(hb.Token)
	if err != nil {
		return heartbeat.Credentials{}, err
	}
	key, err := heartbeat.ParseKey(hb.Key)
	if err != nil {
		return heartbeat.Credentials{}, err
	}
	return heartbeat.Credentials{Token: tok, Key: key, Counter: hb.Counter}, nil
}
