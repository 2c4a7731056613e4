package bench

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"

	"github.com/placerhq/placer/internal/chart"
)

// WriteRingReport writes into dir (created if needed): results.jsonl (one
// RingResult per line), targets.json, table.txt, and the SVG charts
// churn-join.svg, churn-join-old.svg, churn-leave.svg, balance-peak.svg,
// balance-cv.svg, lookup.svg, add-remove.svg and build.svg. It returns the
// paths written.
func WriteRingReport(dir string, rs []RingResult) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	var written []string
	write := func(name string, fn func(f *os.File) error) error {
		p := filepath.Join(dir, name)
		f, err := os.Create(p)
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		err = errors.Join(fn(f), f.Close())
		if err == nil {
			written = append(written, p)
		}
		return err
	}
	err := errors.Join(
		write("results.jsonl", func(f *os.File) error { return chart.WriteJSONLines(f, rs) }),
		write("targets.json", func(f *os.File) error {
			b, err := json.MarshalIndent(CheckRingTargets(rs), "", "  ")
			if err != nil {
				return err
			}
			_, err = f.Write(append(b, '\n'))
			return err
		}),
		write("table.txt", func(f *os.File) error {
			if err := RingTable(rs).Write(f); err != nil {
				return err
			}
			if _, err := fmt.Fprintln(f); err != nil {
				return err
			}
			return TargetTable(CheckRingTargets(rs)).Write(f)
		}),
	)
	for _, c := range ringCharts(rs) {
		err = errors.Join(err, write(c.file, func(f *os.File) error { return c.svg.WriteSVG(f) }))
	}
	return written, err
}

type ringChart struct {
	file string
	svg  interface{ WriteSVG(w io.Writer) error }
}

// ringRowLabel names a strategy row in charts: "bounded c=1.05".
func ringRowLabel(r RingResult) string {
	if r.Strategy == "bounded" {
		return fmt.Sprintf("bounded c=%g", r.LoadFactor)
	}
	return r.Strategy
}

// ringGrid arranges results by label (series, in first-seen order) and node
// count (categories, ascending).
func ringGrid(rs []RingResult, value func(RingResult) float64) (labels []string, nodes []int, vals [][]float64) {
	for _, r := range rs {
		if !slices.Contains(labels, ringRowLabel(r)) {
			labels = append(labels, ringRowLabel(r))
		}
		if !slices.Contains(nodes, r.Nodes) {
			nodes = append(nodes, r.Nodes)
		}
	}
	slices.Sort(nodes)
	vals = make([][]float64, len(labels))
	for i := range vals {
		vals[i] = make([]float64, len(nodes))
		for j := range vals[i] {
			vals[i][j] = math.NaN()
		}
	}
	for _, r := range rs {
		vals[slices.Index(labels, ringRowLabel(r))][slices.Index(nodes, r.Nodes)] = value(r)
	}
	return labels, nodes, vals
}

func ringBars(rs []RingResult, title, ylabel string, logY bool, refs []chart.RefLine, value func(RingResult) float64, keep func(RingResult) bool) chart.BarChart {
	var sel []RingResult
	for _, r := range rs {
		if keep == nil || keep(r) {
			sel = append(sel, r)
		}
	}
	labels, nodes, vals := ringGrid(sel, value)
	c := chart.BarChart{Title: title, XLabel: "members", YLabel: ylabel, Ref: refs, LogY: logY}
	for _, n := range nodes {
		c.Categories = append(c.Categories, fmt.Sprint(n))
	}
	for i, l := range labels {
		c.Series = append(c.Series, chart.Series{Name: l, Values: vals[i]})
	}
	return c
}

func ringLines(rs []RingResult, title, ylabel string, value func(RingResult) float64) chart.LineChart {
	labels, nodes, vals := ringGrid(rs, value)
	c := chart.LineChart{Title: title, XLabel: "members", YLabel: ylabel, LogX: true, LogY: true}
	for _, n := range nodes {
		c.X = append(c.X, float64(n))
	}
	for i, l := range labels {
		c.Series = append(c.Series, chart.Series{Name: l, Values: vals[i]})
	}
	return c
}

func ringCharts(rs []RingResult) []ringChart {
	notModulo := func(r RingResult) bool { return r.Strategy != "modulo" }
	return []ringChart{
		{"churn-join.svg", ringBars(rs, "Keys moved when one member joins (modulo omitted: ≈ N)", "moved / ideal K/(N+1)", false,
			[]chart.RefLine{{Label: "ideal 1", Y: 1}, {Label: "ring target 1.05", Y: 1.05}, {Label: "bounded target 1.25", Y: 1.25}},
			func(r RingResult) float64 { return r.JoinMovedRatio }, notModulo)},
		{"churn-join-old.svg", ringBars(rs, "Keys moved between old members on a join (modulo omitted)", "moved / K/(N+1)", false,
			[]chart.RefLine{{Label: "target 0.02", Y: 0.02}}, func(r RingResult) float64 { return r.JoinMovedBetweenOldRatio }, notModulo)},
		{"churn-leave.svg", ringBars(rs, "Keys moved when one member leaves (modulo omitted: ≈ N)", "moved / ideal K/N", false,
			[]chart.RefLine{{Label: "ideal 1", Y: 1}}, func(r RingResult) float64 { return r.LeaveMovedRatio }, notModulo)},
		{"balance-peak.svg", ringBars(rs, "Most loaded member", "peak / average keys", false,
			[]chart.RefLine{{Label: "ring target 1.10", Y: 1.10}, {Label: "c=1.05", Y: 1.05}, {Label: "c=1.25", Y: 1.25}}, func(r RingResult) float64 { return r.PeakToAvg }, nil)},
		{"balance-cv.svg", ringBars(rs, "Spread of keys per member", "coefficient of variation", false, nil,
			func(r RingResult) float64 { return r.CV }, nil)},
		{"lookup.svg", ringLines(rs, "Lookup time (median over the keys)", "ns per lookup", func(r RingResult) float64 { return r.LookupNs })},
		{"add-remove.svg", ringLines(rs, "One add + one remove", "µs", func(r RingResult) float64 { return r.AddRemoveUs })},
		{"build.svg", ringLines(rs, "Build from N members", "ms", func(r RingResult) float64 { return r.BuildMs })},
	}
}
