// Package check reads the histories of the fault harness
// (internal/faults/history) and reports what went wrong: acknowledged
// writes lost, keys hosted twice outside the windows where that is
// allowed, a sender's messages applied out of order, DOWN notifications
// missing or duplicated, errors seen on keys a fault should not touch,
// keys served by two sides of a cut, and how long each key took to be
// served again after a fault.
//
// It is pure: functions of the records and of the windows the caller
// gives, with no clock, no I/O and no goroutines, tested on synthetic
// histories (check_test.go), including histories that must be flagged.
//
// Timestamps are CLOCK_MONOTONIC nanoseconds; Window bounds are inclusive
// at From and exclusive at To.
package check

import (
	"sort"
	"time"

	"github.com/placerhq/placer/internal/faults/history"
)

// Forever is a Window end that never comes.
const Forever = int64(1<<63 - 1)

// Window is a span of CLOCK_MONOTONIC time [From, To).
type Window struct{ From, To int64 }

// Contains reports whether t lies in w.
func (w Window) Contains(t int64) bool { return t >= w.From && t < w.To }

// Ms converts a span of nanoseconds to a duration rounded to the
// millisecond, for reports.
func Ms(ns int64) time.Duration { return time.Duration(ns).Round(time.Millisecond) }

// isCall reports whether op is a request a key's process answered (a
// write, an increment or a read): what "the key is served" means.
func isCall(op history.Op) bool {
	return op.Type == history.OpWrite || op.Type == history.OpIncr || op.Type == history.OpRead
}

// isRequest: a call or a send.
func isRequest(op history.Op) bool { return isCall(op) || op.Type == history.OpSend }

// byStart returns the ops that keep(op), sorted by Start (stable).
func byStart(ops []history.Op, keep func(history.Op) bool) []history.Op {
	var out []history.Op
	for _, op := range ops {
		if keep(op) {
			out = append(out, op)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Start < out[j].Start })
	return out
}

// finals returns the last successful final record of type typ per key.
func finals(ops []history.Op, typ string) map[string]history.Op {
	out := map[string]history.Op{}
	for _, op := range ops {
		if op.Type == typ && op.OK && op.End >= out[op.Key].End {
			out[op.Key] = op
		}
	}
	return out
}

// set makes a set of strings.
func set(xs []string) map[string]bool {
	m := make(map[string]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
}

// percentile returns the p-th percentile (0..100) of xs by nearest rank
// (0 for none).
func percentile(xs []int64, p float64) int64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]int64(nil), xs...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	idx := int(p/100*float64(len(s))+0.5) - 1
	return s[min(max(idx, 0), len(s)-1)]
}
