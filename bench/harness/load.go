package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"time"

	"github.com/dnslb/dnslb/internal/api/client"
	"github.com/dnslb/dnslb/internal/record"
)

// loadValueBase is the second octet of the first address load hands out:
// values are 10.16.0.0 and up, clear of the 10.1.x.y of the anchor zone.
const loadValueBase = 16

func runLoad(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("load", "[--api URL] [--zone Z] [--names N] [--sets S] [--queries FILE]",
		`Creates N weighted names PREFIX0..PREFIX(N-1), each with S weighted A sets
(set ids s0..s(S-1), weights 1..S, one distinct 10.x.y.z address each, one TTL),
through the changes endpoint in batches, and prints how long it took. With
--queries it also writes a dnsperf query file: every name once per pass in a
fresh random order, as many passes as give at least --lines lines, so the
queries are uniform over the names.`, stderr)
	api := fs.String("api", defaultAPI, "dnslb API `URL`")
	zone := fs.String("zone", defaultZone, "zone to load into (it must exist)")
	names := fs.Int("names", 10000, "number of weighted names")
	sets := fs.Int("sets", 10, "weighted A sets per name")
	prefix := fs.String("prefix", "w", "name prefix: names are PREFIX0, PREFIX1, ...")
	ttl := fs.Int64("ttl", 60, "TTL of every set")
	batch := fs.Int("batch", 1000, "changes per batch")
	queries := fs.String("queries", "", "write a dnsperf query `file` for the names here")
	lines := fs.Int("lines", 100000, "the query file has at least this many lines")
	seed := fs.Uint64("seed", 20261123, "seed of the query file's order")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case *names < 1:
		return usageError(fs, "--names %d: want at least 1", *names)
	case *sets < 1 || *sets > record.MaxWeightedSets:
		return usageError(fs, "--sets %d: allowed 1..%d (weighted sets per name)", *sets, record.MaxWeightedSets)
	case *names**sets > (256-loadValueBase)<<16:
		return usageError(fs, "--names × --sets = %d: at most %d distinct addresses", *names**sets, (256-loadValueBase)<<16)
	}
	if err := checkBatchSize(fs, *batch); err != nil {
		return err
	}
	c, err := newClient(*api, 1)
	if err != nil {
		return err
	}

	changes := weightedChanges(*prefix, *names, *sets, *ttl)
	start := time.Now()
	took, err := applyBatches(ctx, c, *zone, changes, *batch)
	if err != nil {
		return err
	}
	elapsed := time.Since(start)
	fmt.Fprintf(stdout, "load: %d sets (%d names × %d) in %d batches of ≤%d in %.2fs (%.0f sets/s)\n",
		len(changes), *names, *sets, len(took), *batch, elapsed.Seconds(), rate(len(changes), elapsed))
	if err := writeSummaries(stdout, []string{"batch"}, []summary{summarize(took)}); err != nil {
		return err
	}

	if *queries == "" {
		return nil
	}
	n, err := writeQueryFile(*queries, *prefix, *zone, *names, *lines, *seed)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "load: wrote %d queries over %d names to %s\n", n, *names, *queries)
	return nil
}

// weightedChanges returns the UPSERTs that create names weighted names of
// sets sets each. Set j of name i has weight j+1 and the address numbered
// i*sets+j, counted from 10.16.0.0.
func weightedChanges(prefix string, names, sets int, ttl int64) []client.Change {
	changes := make([]client.Change, 0, names*sets)
	for i := range names {
		for j := range sets {
			k := i*sets + j
			changes = append(changes, client.Change{Action: "UPSERT", RRSet: client.SetRequest{
				Name:   fmt.Sprintf("%s%d", prefix, i),
				Type:   string(record.A),
				SetID:  fmt.Sprintf("s%d", j),
				Weight: ptr(j + 1),
				TTL:    ptr(ttl),
				Values: []string{fmt.Sprintf("10.%d.%d.%d", loadValueBase+k>>16, k>>8&0xff, k&0xff)},
			}})
		}
	}
	return changes
}

// writeQueryFile writes dnsperf queries "PREFIXi.ZONE A" to path: passes
// over all names, each pass a fresh permutation, until at least minLines
// lines. It returns the number of lines written.
func writeQueryFile(path, prefix, zone string, names, minLines int, seed uint64) (int, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	zone = strings.TrimSuffix(zone, ".")
	rng := rand.New(rand.NewPCG(seed, seed))
	w := bufio.NewWriter(f)
	n := 0
	for n < max(minLines, 1) {
		for _, i := range rng.Perm(names) {
			fmt.Fprintf(w, "%s%d.%s A\n", prefix, i, zone)
		}
		n += names
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return 0, err
	}
	return n, f.Close()
}
