package bench

import (
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/placerhq/placer/internal/chart"
)

// maxChartPoints is the most points a timeline chart draws per scheme;
// longer scenarios are drawn per bucket of events.
const maxChartPoints = 200

// WriteChurnReport writes into dir (created if needed): results.jsonl (one
// ChurnResult per line), timelines.json (every scheme's per-event figures),
// targets.json, table.txt, three SVG timelines per scenario and size
// (moved per event, cumulative moved against the ideal, peak/avg load), and
// index.html, which shows the tables and the charts. It returns the paths
// written.
func WriteChurnReport(dir string, run *ChurnRun) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	w := &reportWriter{dir: dir}
	w.file("results.jsonl", func(f io.Writer) error { return chart.WriteJSONLines(f, run.Results) })
	w.file("timelines.json", func(f io.Writer) error { return writeTimelines(f, run.Results) })
	w.file("targets.json", func(f io.Writer) error { return writeIndentedJSON(f, CheckChurnTargets(run)) })
	w.file("table.txt", func(f io.Writer) error { return writeChurnText(f, run) })
	var charts []churnChartFile
	for _, g := range churnGroups(run.Results) {
		for _, c := range churnCharts(g) {
			w.file(c.file, c.svg.WriteSVG)
			charts = append(charts, c)
		}
	}
	w.file("index.html", func(f io.Writer) error { return writeChurnHTML(f, run, charts) })
	return w.written, w.err
}

type reportWriter struct {
	dir     string
	written []string
	err     error
}

func (w *reportWriter) file(name string, fn func(io.Writer) error) {
	p := filepath.Join(w.dir, name)
	f, err := os.Create(p)
	if err != nil {
		w.err = errors.Join(w.err, fmt.Errorf("bench: %w", err))
		return
	}
	if err = errors.Join(fn(f), f.Close()); err != nil {
		w.err = errors.Join(w.err, fmt.Errorf("bench: %s: %w", p, err))
		return
	}
	w.written = append(w.written, p)
}

func writeIndentedJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

func writeTimelines(w io.Writer, rs []ChurnResult) error {
	type tl struct {
		Scheme   string      `json:"scheme"`
		Scenario string      `json:"scenario"`
		Nodes    int         `json:"nodes"`
		Steps    []ChurnStep `json:"steps"`
	}
	var out []tl
	for _, r := range rs {
		out = append(out, tl{r.Scheme, r.Scenario, r.Nodes, r.Timeline})
	}
	return writeIndentedJSON(w, out)
}

// WriteChurnText writes the text report: the results, the rankings, the
// targets and the run's cost.
func writeChurnText(w io.Writer, run *ChurnRun) error {
	for i, t := range []*chart.Table{ChurnTable(run), ChurnRankTable(run), TargetTable(CheckChurnTargets(run))} {
		if err := t.Write(w); err != nil {
			return err
		}
		if i == 0 {
			for _, n := range ChurnNotes(run) {
				if _, err := fmt.Fprintln(w, n); err != nil {
					return err
				}
			}
		}
		if _, err := fmt.Fprintln(w); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintln(w, ChurnCost(run))
	return err
}

// WriteChurnText is the default output of `placer bench churn`.
func WriteChurnText(w io.Writer, run *ChurnRun) error { return writeChurnText(w, run) }

type churnChartFile struct {
	file, title string
	svg         interface{ WriteSVG(io.Writer) error }
}

// churnCharts draws the timelines of one scenario and size.
func churnCharts(g []ChurnResult) []churnChartFile {
	base := fmt.Sprintf("%s-%d", safeName(g[0].Scenario), g[0].Nodes)
	var live []ChurnResult
	for _, r := range g {
		if r.Unsupported == "" {
			live = append(live, r)
		}
	}
	if len(live) == 0 {
		return nil
	}
	k := (len(live[0].Timeline) - 1 + maxChartPoints - 1) / maxChartPoints
	per := "per event"
	if k > 1 {
		per = fmt.Sprintf("per %d events", k)
	}
	name := fmt.Sprintf("%s, %d nodes", g[0].Scenario, g[0].Nodes)
	moved := lineChart(live, k, "Keys moved "+per+": "+name, "keys moved (log)", true, func(s []ChurnStep) float64 { return sumSteps(s, func(x ChurnStep) float64 { return float64(x.Moved) }) })
	moved.Series = append(moved.Series, idealSeries(live[0], k, func(s []ChurnStep) float64 { return sumSteps(s, func(x ChurnStep) float64 { return x.Ideal }) }))
	cum := lineChart(live, k, "Cumulative moved / cumulative ideal: "+name, "ratio (log; 1 = ideal)", true, func(s []ChurnStep) float64 {
		last := s[len(s)-1]
		if last.CumIdeal == 0 {
			return math.NaN()
		}
		return float64(last.CumMoved) / last.CumIdeal
	})
	cum.Ref = []chart.RefLine{{Label: "ideal", Y: 1}, {Label: "ring target 1.05", Y: 1.05}}
	peak := lineChart(live, k, "Most loaded member / its share: "+name, "peak / average", false, func(s []ChurnStep) float64 {
		top := 0.0
		for _, x := range s {
			top = max(top, x.PeakToAvg)
		}
		return top
	})
	peak.Ref = []chart.RefLine{{Label: "even", Y: 1}}
	return []churnChartFile{
		{base + "-moved.svg", moved.Title, moved},
		{base + "-cumulative.svg", cum.Title, cum},
		{base + "-peak.svg", peak.Title, peak},
	}
}

// lineChart draws one line per scheme over the events, k events a point.
func lineChart(rs []ChurnResult, k int, title, ylabel string, logY bool, value func([]ChurnStep) float64) chart.LineChart {
	c := chart.LineChart{Title: title, XLabel: "event", YLabel: ylabel, LogY: logY}
	steps := rs[0].Timeline[1:]
	for i := 0; i < len(steps); i += k {
		c.X = append(c.X, float64(steps[min(i+k, len(steps))-1].Event))
	}
	for _, r := range rs {
		c.Series = append(c.Series, chart.Series{Name: r.Scheme, Values: bucketed(r.Timeline[1:], k, value)})
	}
	return c
}

func idealSeries(r ChurnResult, k int, value func([]ChurnStep) float64) chart.Series {
	return chart.Series{Name: "ideal", Values: bucketed(r.Timeline[1:], k, value)}
}

func bucketed(steps []ChurnStep, k int, value func([]ChurnStep) float64) []float64 {
	var out []float64
	for i := 0; i < len(steps); i += k {
		out = append(out, value(steps[i:min(i+k, len(steps))]))
	}
	return out
}

func sumSteps(s []ChurnStep, f func(ChurnStep) float64) float64 {
	t := 0.0
	for _, x := range s {
		t += f(x)
	}
	return t
}

func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '_'
	}, filepath.Base(s))
}

// writeChurnHTML writes index.html: the tables, then every chart.
func writeChurnHTML(w io.Writer, run *ChurnRun, charts []churnChartFile) error {
	var b strings.Builder
	b.WriteString(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>placer bench churn</title>
<style>body{font-family:sans-serif;margin:2em;max-width:1500px}table{border-collapse:collapse;margin:1em 0;font-size:13px}
td,th{border:1px solid #ccc;padding:3px 8px;white-space:nowrap}th{background:#eee}td.n{text-align:right;font-variant-numeric:tabular-nums}
img{max-width:100%;border:1px solid #ddd;margin:4px}</style></head><body>
<h1>placer bench churn</h1>
`)
	fmt.Fprintf(&b, "<p>%s. Every figure was measured in this run; ratios are against the ideal of each event (keys × the change in the members' shares).</p>\n", html.EscapeString(ChurnCost(run)))
	for _, s := range []struct {
		title string
		t     *chart.Table
	}{{"Results", ChurnTable(run)}, {"Rankings (1 = best)", ChurnRankTable(run)}, {"Targets", TargetTable(CheckChurnTargets(run))}} {
		fmt.Fprintf(&b, "<h2>%s</h2>\n", html.EscapeString(s.title))
		if err := s.t.WriteHTML(&b); err != nil {
			return err
		}
	}
	for _, n := range ChurnNotes(run) {
		fmt.Fprintf(&b, "<p>%s</p>\n", html.EscapeString(n))
	}
	b.WriteString("<h2>Timelines</h2>\n")
	for _, c := range charts {
		fmt.Fprintf(&b, "<img src=\"%s\" alt=\"%s\">\n", html.EscapeString(c.file), html.EscapeString(c.title))
	}
	b.WriteString("</body></html>\n")
	_, err := io.WriteString(w, b.String())
	return err
}
