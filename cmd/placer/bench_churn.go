package main

import (
	"errors"
	"fmt"
	"github.com/placerhq/placer/internal/cliflag"
	"io"
	"strings"
	"time"

	"github.com/placerhq/placer/bench"
	"github.com/placerhq/placer/internal/chart"
)

func init() {
	register(&command{
		name:    "bench churn",
		summary: "rebalance churn of every placement scheme through membership scenarios (moved keys, balance, --views)",
		run:     runBenchChurn,
	})
}

func runBenchChurn(args []string, stdout, stderr io.Writer) error {
	d := bench.DefaultChurnOptions()
	fs := newFlagSet("bench churn", stderr)
	nodes := fs.String("nodes", cliflag.JoinInts(d.Nodes), "comma-separated initial member counts (each 2..10000)")
	keys := fs.Int("keys", d.Keys, "keys placed (100..50000000)")
	scenario := fs.String("scenario", "all", "comma-separated scenarios: built-in names ("+strings.Join(bench.BuiltinScenarios, ", ")+") or scenario files; all = every built-in")
	schemesFlag := fs.String("schemes", "all", "comma-separated schemes ("+strings.Join(bench.ChurnSchemes, ", ")+"); all = every one")
	vnodes := fs.Int("vnodes", d.VNodes, "ring and bounded: virtual nodes per unit of weight")
	load := fs.Float64("load", d.LoadFactor, "bounded: load factor c, in (1, 10]")
	maglev := fs.Int("maglev-size", 0, "maglev: lookup table size, a prime (0: the first prime ≥ max(65537, 100 × the scenario's most weight))")
	probes := fs.Int("probes", d.Probes, "multiprobe: probes per key (1..255)")
	events := fs.Int("events", d.Events, "random: number of events")
	flaps := fs.Int("flaps", d.Flaps, "flapping: leave+join cycles")
	seed := fs.Uint64("seed", d.Seed, "random: seed (same seed, same events)")
	drain := fs.Int("drain", d.Drain, "reweight: the drained host's starting weight, stepped down by 1 to 0")
	interval := fs.Duration("interval", time.Duration(d.Interval*float64(time.Second)), "time between events (random: mean of exponential gaps); matters to --views")
	stateBytes := fs.String("state-bytes", "", "state per key handed off when it moves: B, exp:MEAN or uniform:MIN-MAX bytes (default none)")
	views := fs.String("views", "", "model gossip dissemination with Serf's lan or local timing, and report misrouted requests and forwarding hops")
	requests := fs.Int("requests", d.Requests, "--views: requests simulated per scheme and scenario")
	asJSON := fs.Bool("json", false, "print one JSON object per scheme and scenario instead of the tables")
	out := fs.String("out", "", "also write results.jsonl, timelines.json, targets.json, table.txt, SVG timelines and index.html into this directory")
	progress := fs.Bool("progress", false, "show the progress bar even when stderr is not a terminal")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: placer bench churn [--nodes 100,1000] [--keys 1000000] [--scenario all|NAME|FILE,...] [--schemes all|...] [--views lan|local] [--json] [--out DIR]")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	}
	o := bench.ChurnOptions{Keys: *keys, VNodes: *vnodes, LoadFactor: *load, MaglevSize: *maglev, Probes: *probes,
		Events: *events, Flaps: *flaps, Seed: *seed, Drain: *drain, Interval: interval.Seconds(), Views: *views, Requests: *requests}
	var err error
	if o.Nodes, err = cliflag.ParseInts(*nodes); err != nil {
		return fmt.Errorf("%w: --nodes: %v", errUsage, err)
	}
	if o.StateBytes, err = bench.ParseStateBytes(*stateBytes); err != nil {
		return usageIf(err)
	}
	o.Scenarios, o.Schemes = churnList(*scenario), churnList(*schemesFlag)
	if *interval <= 0 {
		return fmt.Errorf("%w: --interval must be positive", errUsage)
	}
	bar := bench.NewProgress(stderr, *progress)
	o.Progress = bar.Update
	run, err := bench.RunChurn(o)
	bar.Finish()
	if errors.Is(err, bench.ErrBadScenario) {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if err != nil {
		return usageIf(err)
	}
	return reportChurn(run, *asJSON, *out, stdout, stderr)
}

// churnList splits a comma-separated flag; "all" (or nothing) is nil: the
// defaults.
func churnList(s string) []string {
	if s == "" || s == "all" {
		return nil
	}
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func reportChurn(run *bench.ChurnRun, asJSON bool, dir string, stdout, stderr io.Writer) error {
	if asJSON {
		if err := chart.WriteJSONLines(stdout, run.Results); err != nil {
			return err
		}
		fmt.Fprintln(stderr, bench.ChurnCost(run))
	} else if err := bench.WriteChurnText(stdout, run); err != nil {
		return err
	}
	if dir == "" {
		return nil
	}
	files, err := bench.WriteChurnReport(dir, run)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "wrote %d files to %s (open index.html)\n", len(files), dir)
	return nil
}
