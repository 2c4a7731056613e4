package bench

import (
	"errors"

	"github.com/placerhq/placer/ring"
)

// errUnsupported: a scheme cannot run a scenario (say, weights other than 1
// on buraksezer/consistent); the report shows the reason instead of figures.
var errUnsupported = errors.New("not supported")

// registry numbers every member name a scenario mentions, so that trackers
// and the tally work on small integers.
type registry struct {
	idx   map[string]int32
	names []string
}

func newRegistry(s Scenario) *registry {
	r := &registry{idx: map[string]int32{}}
	for _, m := range s.Initial {
		r.add(m.Name)
	}
	for _, ev := range s.Events {
		for _, c := range ev.Changes {
			r.add(c.Member.Name)
		}
	}
	return r
}

func (r *registry) add(name string) {
	if _, ok := r.idx[name]; !ok {
		r.idx[name] = int32(len(r.names))
		r.names = append(r.names, name)
	}
}

// of returns the number of name, or -1 for "" (no owner).
func (r *registry) of(name string) int32 {
	if name == "" {
		return -1
	}
	return r.idx[name]
}

// numbers maps a member list's indexes to member numbers.
func (r *registry) numbers(ms []ring.Member) []int32 {
	num := make([]int32, len(ms))
	for i, m := range ms {
		num[i] = r.of(m.Name)
	}
	return num
}

// weights returns each member's weight by member number (0: absent).
func (r *registry) weights(ms []ring.Member) []int {
	ws := make([]int, len(r.names))
	for _, m := range ms {
		ws[r.of(m.Name)] = m.Weight
	}
	return ws
}

// tally collects the moves of one event (or of the initial placement, where
// from is -1) and keeps every member's load.
type tally struct {
	changed           []bool  // by member: joined, left or re-weighted in this event
	gone              []bool  // by member: left or failed in this event
	fromGone, toNew   int64   // moved from a member that left; to a changed member (--views)
	load, loadBytes   []int64 // keys and bytes per member
	moved, betweenOld int64
	movedBytes        int64
	rebuildNs         int64 // the scheme's own update time in this event
}

func newTally(members int) *tally {
	return &tally{changed: make([]bool, members), gone: make([]bool, members), load: make([]int64, members), loadBytes: make([]int64, members)}
}

// move records keys (and their bytes) whose owner went from one member to
// another; from -1 places them (the initial placement).
func (t *tally) move(from, to int32, keys, bytes int64) {
	if from == to || keys == 0 {
		return
	}
	t.load[to] += keys
	t.loadBytes[to] += bytes
	if from < 0 {
		return
	}
	t.load[from] -= keys
	t.loadBytes[from] -= bytes
	t.moved += keys
	t.movedBytes += bytes
	switch {
	case t.gone[from]:
		t.fromGone += keys
	case t.changed[to]:
		t.toNew += keys
	case !t.changed[from]:
		t.betweenOld += keys
	}
}

// begin starts an event: marks the members it changes and clears the
// counts.
func (t *tally) begin(reg *registry, ev ChurnEvent) {
	clear(t.changed)
	clear(t.gone)
	for _, c := range ev.Changes {
		t.changed[reg.of(c.Member.Name)] = true
		t.gone[reg.of(c.Member.Name)] = c.Op == ring.OpRemove
	}
	t.moved, t.betweenOld, t.movedBytes, t.rebuildNs, t.fromGone, t.toNew = 0, 0, 0, 0, 0, 0
}

// weights tracks the member set through a scenario (name -> weight).
type weights map[string]int

func (w weights) apply(cs []ChurnChange) {
	for _, c := range cs {
		if c.Op == ring.OpRemove {
			delete(w, c.Member.Name)
		} else {
			w[c.Member.Name] = c.Member.Weight
		}
	}
}

func (w weights) total() int {
	t := 0
	for _, x := range w {
		t += x
	}
	return t
}

// idealMoved returns the fewest keys any placement that keeps every member
// at exactly its share (weight / total) must move from before to after:
// keys × the total variation distance between the two share vectors.
func idealMoved(before, after weights, keys int) float64 {
	tb, ta := float64(before.total()), float64(after.total())
	tv := 0.0
	for name, w := range after {
		if d := float64(w)/ta - float64(before[name])/tb; d > 0 {
			tv += d
		}
	}
	return tv * float64(keys)
}

// peakToAvg returns the most loaded member's keys over its share of them.
func peakToAvg(t *tally, reg *registry, ws weights, keys int) float64 {
	tw := float64(ws.total())
	peak := 0.0
	for name, w := range ws {
		fair := float64(keys) * float64(w) / tw
		peak = max(peak, float64(t.load[reg.of(name)])/fair)
	}
	return peak
}
