package demo

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"runtime"
	"strings"
	"text/tabwriter"
	"unicode/utf8"
)

// The narration: every step prints the seed's Elixir line, the placer call
// that does the same (cN is node N's *placement.Cluster), and the result
// that placer returned, as it returned it. Notes start with '#'.

const demoWidth = 78

func (d *demo) printf(format string, args ...any) { fmt.Fprintf(d.w, format, args...) }

func (d *demo) header() {
	d.printf("placer demo: the seed's Erlang distribution tour, on a real placer cluster\n")
	d.printf("%d nodes in this process on 127.0.0.1: TCP transport, Serf gossip (local profile),\n", d.o.Nodes)
	d.printf("a random %d-byte cookie held in memory (never shown); %s, GOMAXPROCS=%d\n",
		len(d.cookie), runtime.Version(), runtime.GOMAXPROCS(0))
	d.printf("legend: `iex(...)>` is the seed's Elixir, `placer:` the Go call doing the same\n")
	d.printf("(cN is node N's *placement.Cluster), `=>` what it returned in this run.\n")
}

// section prints a section header ("== 3. Title ====").
func (d *demo) section(num int, title string) {
	h := "== " + title + " "
	if num > 0 {
		h = fmt.Sprintf("== %d. %s ", num, title)
	}
	d.printf("\n%s%s\n", h, strings.Repeat("=", max(3, demoWidth-len(h))))
}

// iex prints an Elixir line as typed on node name's shell.
func (d *demo) iex(name, elixir string) { d.printf("\niex(%s)> %s\n", name, elixir) }

// shellCmd prints a shell command line of the seed.
func (d *demo) shellCmd(cmd string) { d.printf("\n$ %s\n", cmd) }

// placer prints the Go call that does what the Elixir line does.
func (d *demo) placer(format string, args ...any) {
	d.printf("   placer: "+format+"\n", args...)
}

// result prints what the call returned.
func (d *demo) result(format string, args ...any) { d.printf("   => "+format+"\n", args...) }

// note prints a comment line.
func (d *demo) note(format string, args ...any) { d.printf("   # "+format+"\n", args...) }

// table prints aligned rows, the first being the header.
func (d *demo) table(rows ...[]string) {
	tw := tabwriter.NewWriter(d.w, 0, 0, 3, ' ', 0)
	for _, r := range rows {
		fmt.Fprintf(tw, "     %s\n", strings.Join(r, "\t"))
	}
	_ = tw.Flush()
}

// printNodes prints the started cluster.
func (d *demo) printNodes(took float64) {
	d.printf("\n")
	rows := [][]string{{"node", "transport", "gossip", "creation"}}
	for _, dn := range d.nodes {
		rows = append(rows, []string{dn.name, dn.c.Node().Addr(), dn.c.Membership().GossipAddr(),
			fmt.Sprintf("%#x", dn.c.Node().Creation())})
	}
	d.table(rows...)
	v := d.nodes[0].c.View()
	d.note("every view holds the %d members (checksum %016x) %.0f ms after the first start", len(v.Members), v.Checksum, took)
}

// demoFigure is one measured figure of the summary.
type demoFigure struct {
	key   string
	value any
	unit  string
	what  string
}

// fig records a measured figure for the summary and the JSON.
func (d *demo) fig(key string, value any, unit, what string) {
	d.figs = append(d.figs, demoFigure{key, value, unit, what})
}

// writeSummary prints the figures as a table, or as one JSON object.
// Figures that are lists of names or maps appear only in the JSON.
func (d *demo) writeSummary(w io.Writer) error {
	if d.o.JSON {
		return json.NewEncoder(w).Encode(d.summaryJSON())
	}
	if d.o.Quiet {
		fmt.Fprintf(w, "placer demo: %d nodes, %d keys, %s\n", d.o.Nodes, d.o.Keys, runtime.Version())
	} else {
		fmt.Fprintf(w, "\n== Summary: what this run measured %s\n", strings.Repeat("=", demoWidth-36))
	}
	rows := [][4]string{{"figure", "value", "unit", "what"}}
	for _, f := range d.figs {
		if v, ok := demoFormatFig(f.value); ok {
			rows = append(rows, [4]string{f.key, v, f.unit, f.what})
		}
	}
	rows = append(rows, [4]string{"total_ms", fmt.Sprintf("%.0f", d.totalMS), "ms", "the whole demo, cleanup included"})
	return demoWriteAligned(w, rows)
}

// demoWriteAligned prints rows with the value column right-aligned.
func demoWriteAligned(w io.Writer, rows [][4]string) error {
	var wid [4]int
	for _, r := range rows {
		for c, cell := range r {
			wid[c] = max(wid[c], utf8.RuneCountInString(cell))
		}
	}
	pad := func(s string, n int) string { return strings.Repeat(" ", max(0, n-utf8.RuneCountInString(s))) }
	for _, r := range rows {
		line := r[0] + pad(r[0], wid[0]) + "  " + pad(r[1], wid[1]) + r[1] + "  " + r[2] + pad(r[2], wid[2]) + "  " + r[3]
		if _, err := fmt.Fprintln(w, strings.TrimRight(line, " ")); err != nil {
			return err
		}
	}
	return nil
}

// demoFormatFig formats a figure for the table; false for lists and maps.
func demoFormatFig(v any) (string, bool) {
	switch x := v.(type) {
	case float64:
		switch a := math.Abs(x); {
		case a >= 100 || a == math.Trunc(a):
			return fmt.Sprintf("%.0f", x), true
		case a >= 1:
			return fmt.Sprintf("%.1f", x), true
		}
		return fmt.Sprintf("%.3f", x), true
	case []int:
		return strings.Trim(fmt.Sprint(x), "[]"), true
	case []string, map[string]int:
		return "", false
	}
	return fmt.Sprint(v), true
}

// summaryJSON is the JSON object: run parameters, every figure by key,
// the time of each step, cleanup and total.
func (d *demo) summaryJSON() map[string]any {
	all := demoSteps()
	steps := make([]string, len(d.o.Steps))
	for i, s := range d.o.Steps {
		steps[i] = all[s].name
	}
	out := map[string]any{
		"nodes": d.o.Nodes, "keys": d.o.Keys, "steps": steps, "step_ms": d.stepMS,
		"cleanup_ms": d.cleanupMS, "total_ms": d.totalMS,
	}
	for _, f := range d.figs {
		out[f.key] = f.value
	}
	return out
}
