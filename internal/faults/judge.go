package faults

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/placerhq/placer/internal/faults/check"
	"github.com/placerhq/placer/internal/faults/history"
	"github.com/placerhq/placer/internal/faults/load"
)

// Sources of the bounds.
const (
	srcIssue  = "issue 14"
	srcDesign = "DESIGN"
)

// healBound is the time the design gives a heal: one process per key
// within 5 s of the merge.
const healBound = 5 * time.Second

// hist is a scenario's histories and the checks every judge uses.
type hist struct {
	ops   []history.Op
	marks []history.Mark
	loss  check.Loss
	order check.Order
	downs check.Downs
}

// loadHist reads every load generator's history.
func (e *env) loadHist() (*hist, error) {
	h := &hist{}
	paths, _ := filepath.Glob(filepath.Join(e.dir, "load-*.jsonl"))
	for _, p := range paths {
		ops, err := history.ReadFile[history.Op](p)
		if err != nil {
			return nil, err
		}
		h.ops = append(h.ops, ops...)
	}
	e.mu.Lock()
	h.marks = append([]history.Mark(nil), e.marks...)
	e.mu.Unlock()
	h.loss, h.order, h.downs = check.LostWrites(h.ops), check.Reorders(h.ops), check.CheckDowns(h.ops, h.marks)
	return h, nil
}

// judge turns the histories into the scenario's bounds and figures.
func (e *env) judge() ([]Bound, []Figure) {
	h, err := e.loadHist()
	if err != nil {
		return nil, []Figure{{Name: "histories", Value: err.Error()}}
	}
	if e.f.fault != 0 {
		e.sc.judge(e, h)
	}
	bounds := append(e.f.bounds, e.commonBounds(h)...)
	return bounds, append(e.commonFigures(h), e.f.figures...)
}

// bound appends a bound to the scenario's.
func (e *env) bound(b Bound) { e.f.bounds = append(e.f.bounds, b) }

// figure appends a figure.
func (e *env) figure(name, format string, args ...any) {
	e.f.figures = append(e.f.figures, Figure{Name: name, Value: fmt.Sprintf(format, args...)})
}

// zero is a bound "n must be 0".
func zero(name, source string, n int, detail string) Bound {
	m := itoa(n)
	if detail != "" && n > 0 {
		m += ": " + detail
	}
	return Bound{Name: name, Source: source, Limit: "0", Measured: m, Pass: n == 0}
}

// within is a bound "d ≤ limit" (never: the event did not happen).
func within(name, source string, d, limit time.Duration, never bool, why string) Bound {
	b := Bound{Name: name, Source: source, Limit: "≤ " + limit.Round(time.Millisecond).String() + why,
		Measured: d.Round(time.Millisecond).String(), Pass: !never && d <= limit}
	if never {
		b.Measured = "never"
	}
	return b
}

func itoa(n int) string { return fmt.Sprint(n) }

// commonBounds are the design's promises checked in every scenario.
func (e *env) commonBounds(h *hist) []Bound {
	var dups []string
	for _, d := range check.Duplicates(h.marks, e.f.allowed) {
		if !d.Allowed {
			dups = append(dups, fmt.Sprintf("%s on %s +%v..+%v", d.Key, strings.Join(d.Nodes, ","),
				check.Ms(d.From-e.f.fault), check.Ms(d.To-e.f.fault)))
		}
	}
	return []Bound{
		zero("a sender's messages applied out of order (register went back, state intact)", srcDesign, len(h.order.Backwards), firstPair(h.order.Backwards)),
		zero("values read that were never sent", srcDesign, len(h.order.Phantom), ""),
		zero("monitors without their DOWN (process gone)", srcDesign, len(h.downs.Missing), firstOp(h.downs.Missing)),
		zero("DOWNs delivered twice", srcDesign, len(h.downs.Duplicated), firstOp(h.downs.Duplicated)),
		zero("keys held by two nodes outside the fault and heal windows (2+ snapshots)", srcDesign, len(dups), strings.Join(first(dups, 3), "; ")),
	}
}

// commonFigures are measured in every scenario.
func (e *env) commonFigures(h *hist) []Figure {
	total, failed, codes := check.Errors(h.ops, check.Scope{Window: check.Window{From: 0, To: check.Forever}})
	l, o, d := h.loss, h.order, h.downs
	figs := []Figure{
		{"requests (calls and sends)", fmt.Sprintf("%d, %d failed %s", total, failed, codeList(codes))},
		{"acknowledged kv writes", fmt.Sprintf("%d checked against the final state, %d lost, %d unverified (no final read)", l.Acked, len(l.Lost), l.Unverified)},
		{"acknowledged counter increments", fmt.Sprintf("%d, %d missing from the final values, %d applied beyond the attempts", l.IncrAcked, l.IncrLost, l.IncrExtra)},
		{"reads of the order registers", fmt.Sprintf("%d; %d found the state gone back (reverted), %d behind the last send (a send dropped or late)", o.Reads, o.Reverted, o.Behind)},
		{"monitors and DOWNs", fmt.Sprintf("%d monitors, %d DOWNs %s, %d unverified", d.Monitors, d.Downs, codeList(d.Reasons), d.Unverified)},
	}
	return figs
}

func reownText(r check.Reown) string {
	s := fmt.Sprintf("every key served again after max %v (median %v); %d of %d keys saw a failed call", check.Ms(r.Max), check.Ms(r.P50), r.Interrupted, r.Keys)
	if len(r.Never) > 0 {
		s += fmt.Sprintf("; never served again: %s", strings.Join(first(r.Never, 5), ", "))
	}
	return s
}

// codeList formats counts by name, sorted: "(noconnection 3, timeout 1)".
func codeList(m map[string]int) string {
	if len(m) == 0 {
		return ""
	}
	var parts []string
	for k, v := range m {
		parts = append(parts, fmt.Sprintf("%s %d", k, v))
	}
	sort.Strings(parts)
	return "(" + strings.Join(parts, ", ") + ")"
}

func firstOp(ops []history.Op) string {
	if len(ops) == 0 {
		return ""
	}
	op := ops[0]
	return fmt.Sprintf("first: %s %s %s %s", op.Node, op.Type, op.Key, op.PID)
}

func firstPair(ps [][2]history.Op) string {
	if len(ps) == 0 {
		return ""
	}
	a, b := ps[0][0], ps[0][1]
	return fmt.Sprintf("first: %s %s read %d then %d", b.Node, b.Key, a.Order, b.Order)
}

func first(xs []string, n int) []string { return xs[:min(n, len(xs))] }

// others returns xs without the excluded.
func others(xs []string, excluded ...string) []string {
	var out []string
	for _, x := range xs {
		if !contains(excluded, x) {
			out = append(out, x)
		}
	}
	return out
}

// keysOnly returns the load's keys (without kinds).
func keysOnly(n int) []string { return load.Keys(n) }

func (e *env) nodeByName(name string) *member {
	for _, n := range e.nodes {
		if n.name == name {
			return n
		}
	}
	return nil
}
