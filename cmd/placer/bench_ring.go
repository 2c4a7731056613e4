package main

import (
	"errors"
	"fmt"
	"github.com/placerhq/placer/internal/cliflag"
	"io"

	"github.com/placerhq/placer/bench"
	"github.com/placerhq/placer/ring"

	"github.com/placerhq/placer/internal/chart"
)

func init() {
	register(&command{
		name:    "bench ring",
		summary: "measure ring, bounded, consistent and modulo placement (speed, balance, churn)",
		run:     runBenchRing,
	})
}

func runBenchRing(args []string, stdout, stderr io.Writer) error {
	d := bench.DefaultRingOptions()
	fs := newFlagSet("bench ring", stderr)
	nodes := fs.String("nodes", cliflag.JoinInts(d.Nodes), "comma-separated member counts to measure (each 2..9999)")
	keys := fs.Int("keys", d.Keys, "keys placed to measure balance and churn, and looked up to time lookups")
	vnodes := fs.Int("vnodes", ring.DefaultVNodes, "virtual nodes per unit of weight for the ring and bounded strategies")
	loads := fs.String("load", cliflag.JoinFloats(d.LoadFactors), "comma-separated load factors c of the bounded strategy (one row each)")
	rounds := fs.Int("rounds", d.Rounds, "timed passes over the keys per lookup measurement (the median is reported)")
	budget := fs.Duration("budget", d.Budget, "time spent repeating one build or add+remove measurement")
	asJSON := fs.Bool("json", false, "print one JSON object per strategy and member count instead of the table")
	out := fs.String("out", "", "also write results.jsonl, targets.json, table.txt and SVG charts into this directory")
	progress := fs.Bool("progress", false, "show the progress bar even when stderr is not a terminal")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: placer bench ring [--nodes 10,100,1000] [--keys 1000000] [--vnodes V] [--json] [--out DIR]")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	}
	o := bench.RingOptions{Keys: *keys, VNodes: *vnodes, Rounds: *rounds, Budget: *budget}
	var err error
	if o.Nodes, err = cliflag.ParseInts(*nodes); err != nil {
		return fmt.Errorf("%w: --nodes: %v", errUsage, err)
	}
	if o.LoadFactors, err = cliflag.ParseFloats(*loads); err != nil {
		return fmt.Errorf("%w: --load: %v", errUsage, err)
	}
	bar := bench.NewProgress(stderr, *progress)
	o.Progress = bar.Update
	rs, err := bench.RunRing(o)
	bar.Finish()
	if err != nil {
		return usageIf(err)
	}
	return reportRing(rs, *asJSON, *out, stdout, stderr)
}

func reportRing(rs []bench.RingResult, asJSON bool, dir string, stdout, stderr io.Writer) error {
	if asJSON {
		if err := chart.WriteJSONLines(stdout, rs); err != nil {
			return err
		}
	} else {
		if err := bench.RingTable(rs).Write(stdout); err != nil {
			return err
		}
		fmt.Fprintln(stdout)
		if err := bench.TargetTable(bench.CheckRingTargets(rs)).Write(stdout); err != nil {
			return err
		}
	}
	if dir == "" {
		return nil
	}
	files, err := bench.WriteRingReport(dir, rs)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "wrote %d files to %s\n", len(files), dir)
	return nil
}

// usageIf marks option errors from the bench package as usage errors.
func usageIf(err error) error {
	if errors.Is(err, bench.ErrBadConfig) {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	return err
}
