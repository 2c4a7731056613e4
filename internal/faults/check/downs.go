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
	// Missing: monitors without a DOWN whose process is gone at the end:
	// the final Whereis names another PID (or none) and the last hosted
	// snapshot does not list it (a duplicate that never went away is
	// still alive, and owes no DOWN).
	Missing []history.Op
	// Duplicated: a second (third, ...) DOWN of one monitor.
	Duplicated []history.Op
	// Unverified: monitors without a DOWN of keys with no final Whereis.
	Unverified int
	Reasons    map[string]int // DOWNs by reason (its first word: "handoff", not the new PID)
}

// CheckDowns pairs every monitor with its DOWNs; marks give the processes
// still alive at the end (the last history.MarkHosted).
func CheckDowns(ops []history.Op, marks []history.Mark) Downs {
	d := Downs{Reasons: map[string]int{}}
	downs := map[[2]any][]history.Op{} // (node, ref) -> DOWNs
	for _, op := range ops {
		if op.Type == history.OpDown {
			d.Downs++
			reason, _, _ := strings.Cut(op.Err, " ") // "handoff <pid>", "error: ...": the kind only
			reason = strings.TrimSuffix(reason, ":")
			d.Reasons[reason]++
			id := [2]any{op.Node, op.Ref}
			downs[id] = append(downs[id], op)
		}
	}
	final, alive := finals(ops, history.OpFinalWhereis), lastPIDs(marks)
	for _, op := range ops {
		if op.Type == history.OpMonitor && op.OK {
			d.monitor(op, downs[[2]any{op.Node, op.Ref}], final, alive)
		}
	}
	return d
}

// lastPIDs returns the PIDs of the last hosted snapshot.
func lastPIDs(marks []history.Mark) map[string]bool {
	snaps := hostedSnaps(marks)
	alive := map[string]bool{}
	if len(snaps) == 0 {
		return alive
	}
	for _, pids := range snaps[len(snaps)-1].PIDs {
		for _, p := range pids {
			alive[p] = true
		}
	}
	return alive
}

// monitor checks one monitor against its DOWNs and the final owner.
func (d *Downs) monitor(m history.Op, downs []history.Op, final map[string]history.Op, alive map[string]bool) {
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
	case f.PID != m.PID && !alive[m.PID]:
		d.Missing = append(d.Missing, m)
	}
}
