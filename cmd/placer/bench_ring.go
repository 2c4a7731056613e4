package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

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
	nodes := fs.String("nodes", joinInts(d.Nodes), "comma-separated member counts to measure (each 2..9999)")
	keys := fs.Int("keys", d.Keys, "keys placed to measure balance and churn, and looked up to time lookups")
	vnodes := fs.Int("vnodes", ring.DefaultVNodes, "virtual nodes per unit of weight for the ring and bounded strategies")
	loads := fs.String("load", joinFloats(d.LoadFactors), "comma-separated load factors c of the bounded strategy (one row each)")
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
	if o.Nodes, err = parseInts(*nodes); err != nil {
		return fmt.Errorf("%w: --nodes: %v", errUsage, err)
	}
	if o.LoadFactors, err = parseFloats(*loads); err != nil {
		return fmt.Errorf("%w: --load: %v", errUsage, err)
	}
	bar := newBenchProgress(stderr, *progress)
	o.Progress = bar.update
	rs, err := bench.RunRing(o)
	bar.finish()
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
	if errors.Is(err, bench.ErrBadOptions) {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	return err
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

func parseFloats(s string) ([]float64, error) {
	var out []float64
	for _, f := range strings.Split(s, ",") {
		x, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, nil
}

func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ",")
}

func joinFloats(xs []float64) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.FormatFloat(x, 'g', -1, 64)
	}
	return strings.Join(s, ",")
}
