package check

import (
	"strings"

	"github.com/placerhq/placer/internal/faults/history"
)

// Downs is what the monitors say: every monitor gets exactly one DOWN once
// its process is gone (DESIGN: "exactly one DOWN per monitor").
type Downs struct {
	Monitors int // monitors set up
	Downs    int // DOWNs received
	// Missing: monitors without a DOWN whose process is not the key's
	// process at the end (the final Whereis names another PID, or none).
	Missing []history.Op
	// Duplicated: a second (third, ...) DOWN of one monitor.
	Duplicated []history.Op
	// Unverified: monitors without a DOWN of keys with no final Whereis.
	Unverified int
	Reasons    map[string]int // DOWNs by reason (its first word: "handoff", not the new PID)
}

// CheckDowns pairs every monitor with its DOWNs.
func CheckDowns(ops []history.Op) Downs {
	d := Downs{Reasons: map[string]int{}}
	downs := map[[2]any][]history.Op{} // (node, ref) -> DOWNs
	for _, op := range ops {
		if op.Type == history.OpDown {
			d.Downs++
			reason, _, _ := strings.Cut(op.Err, " ") // "handoff <pid>": the kind only
			d.Reasons[reason]++
			id := [2]any{op.Node, op.Ref}
			downs[id] = append(downs[id], op)
		}
	}
	final := finals(ops, history.OpFinalWhereis)
	for _, op := range ops {
		if op.Type == history.OpMonitor && op.OK {
			d.monitor(op, downs[[2]any{op.Node, op.Ref}], final)
		}
	}
	return d
}

// monitor checks one monitor against its DOWNs and the final owner.
func (d *Downs) monitor(m history.Op, downs []history.Op, final map[string]history.Op) {
	d.Monitors++
	if len(downs) > 1 {
		d.Duplicated = append(d.Duplicated, downs[1:]...)
	}
	if len(downs) > 0 {
		return
	}
	f, ok := final[m.Key]
	switch {
	case !ok:
		d.Unverified++
	case f.PID != m.PID:
		d.Missing = append(d.Missing, m)
	}
}
