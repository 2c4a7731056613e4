package check

import (
	"encoding/json"
	"strconv"

	"github.com/placerhq/placer/internal/faults/history"
)

// Loss is what the final state says about acknowledged writes.
type Loss struct {
	// Acked is the number of acknowledged kv writes of keys with a final
	// state; Lost those of them the final state lacks (or holds with
	// another value). Unverified: acknowledged writes of keys whose final
	// state could not be read.
	Acked, Unverified int
	Lost              []history.Op
	// Counters: acknowledged increments, the sum of the final values, and
	// the increments missing (per key: acknowledged − final, when
	// positive). Extra: per key, final − attempted, when positive (an
	// increment applied more often than it was sent). IncrUnverified:
	// acknowledged increments of keys whose final value could not be read.
	IncrAcked, IncrLost, IncrExtra, IncrUnverified int64
	CounterFinal                                   int64
}

// LostWrites compares every acknowledged write and increment with the
// final state of its key (history.OpFinalKV, OpFinalCounter).
func LostWrites(ops []history.Op) Loss {
	var l Loss
	kv := finalMaps(ops)
	for _, op := range ops {
		if op.Type != history.OpWrite || !op.OK {
			continue
		}
		m, ok := kv[op.Key]
		switch {
		case !ok:
			l.Unverified++
		case m[op.Field] != op.Value:
			l.Acked++
			l.Lost = append(l.Lost, op)
		default:
			l.Acked++
		}
	}
	countersLost(ops, &l)
	return l
}

// finalMaps decodes the final kv maps; an undecodable one counts as
// missing.
func finalMaps(ops []history.Op) map[string]map[string]string {
	out := map[string]map[string]string{}
	for key, op := range finals(ops, history.OpFinalKV) {
		m := map[string]string{}
		if json.Unmarshal([]byte(op.Value), &m) == nil {
			out[key] = m
		}
	}
	return out
}

// countersLost fills the counter figures of l.
func countersLost(ops []history.Op, l *Loss) {
	acked, tried := map[string]int64{}, map[string]int64{}
	for _, op := range ops {
		if op.Type == history.OpIncr {
			tried[op.Key]++
			if op.OK {
				acked[op.Key]++
			}
		}
	}
	final := finals(ops, history.OpFinalCounter)
	for key, n := range acked {
		if _, ok := final[key]; !ok {
			l.IncrUnverified += n
		}
	}
	for key, op := range final {
		v, err := strconv.ParseInt(op.Value, 10, 64)
		if err != nil {
			l.IncrUnverified += acked[key]
			continue
		}
		l.IncrAcked += acked[key]
		l.CounterFinal += v
		l.IncrLost += max(0, acked[key]-v)
		l.IncrExtra += max(0, v-tried[key])
	}
}
