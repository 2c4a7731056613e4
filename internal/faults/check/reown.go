package check

import (
	"sort"

	"github.com/placerhq/placer/internal/faults/history"
)

// Scope selects the requests a figure counts: those of load generators on
// Nodes (all if nil), for Keys (all if nil), that started in Window.
type Scope struct {
	Nodes  []string
	Keys   []string
	Window Window
}

// filter returns the requests in scope (calls only if calls), by Start.
func (s Scope) filter(ops []history.Op, calls bool) []history.Op {
	nodes, keys := set(s.Nodes), set(s.Keys)
	return byStart(ops, func(op history.Op) bool {
		if calls && !isCall(op) || !calls && !isRequest(op) {
			return false
		}
		return s.Window.Contains(op.Start) && (s.Nodes == nil || nodes[op.Node]) && (s.Keys == nil || keys[op.Key])
	})
}

// Reown is how long the keys took to be served again after a fault.
type Reown struct {
	Keys        int              // keys with calls in scope
	Interrupted int              // keys with at least one failed call
	Never       []string         // keys with no successful call after their last failure
	Times       map[string]int64 // key -> ns from the fault until it was served again
	Max, P50    int64
}

// ReownTimes measures, per key, the time from the fault (the scope's
// window start) to the end of the first successful call that started
// after the fault and after the key's last failed call in the window:
// from then on the key was served without error. A call that hangs until
// the cluster notices the fault and then succeeds counts in full, so an
// owner that stops answering shows even when no call fails.
func ReownTimes(ops []history.Op, s Scope) Reown {
	r := Reown{Times: map[string]int64{}}
	perKey := map[string][]history.Op{}
	for _, op := range s.filter(ops, true) {
		perKey[op.Key] = append(perKey[op.Key], op)
	}
	r.Keys = len(perKey)
	var all []int64
	for key, calls := range perKey {
		t, failed, ok := reownKey(calls, s.Window.From)
		if failed {
			r.Interrupted++
		}
		if !ok {
			r.Never = append(r.Never, key)
			continue
		}
		r.Times[key] = t
		all = append(all, t)
	}
	sort.Strings(r.Never)
	r.P50, r.Max = percentile(all, 50), percentile(all, 100)
	return r
}

// reownKey returns the re-own time of one key's calls (by Start).
func reownKey(calls []history.Op, from int64) (t int64, failed, ok bool) {
	lastFail := from - 1
	for _, op := range calls {
		if !op.OK {
			failed, lastFail = true, max(lastFail, op.End)
		}
	}
	for _, op := range calls {
		if op.OK && op.Start > lastFail {
			return op.End - from, failed, true
		}
	}
	return 0, failed, false
}

// Errors counts the requests in scope and those that failed, by code.
func Errors(ops []history.Op, s Scope) (total, failed int, byCode map[string]int) {
	byCode = map[string]int{}
	for _, op := range s.filter(ops, false) {
		total++
		if !op.OK {
			failed++
			byCode[op.Code]++
		}
	}
	return total, failed, byCode
}

// Served returns, for each side (a set of load generators' nodes), the
// keys it got at least one acknowledged write or increment for in w, and
// the keys served by more than one side: during a cut, a key with two
// owners.
func Served(ops []history.Op, sides [][]string, w Window) (perSide []map[string]bool, both []string) {
	for _, side := range sides {
		keys := map[string]bool{}
		for _, op := range (Scope{Nodes: side, Window: w}).filter(ops, true) {
			if op.OK && op.End < w.To && (op.Type == history.OpWrite || op.Type == history.OpIncr) {
				keys[op.Key] = true
			}
		}
		perSide = append(perSide, keys)
	}
	count := map[string]int{}
	for _, keys := range perSide {
		for k := range keys {
			count[k]++
		}
	}
	for k, n := range count {
		if n > 1 {
			both = append(both, k)
		}
	}
	sort.Strings(both)
	return perSide, both
}

// LastOK returns the end of the last acknowledged request in scope (0 if
// none) and how many there were.
func LastOK(ops []history.Op, s Scope) (last int64, n int) {
	for _, op := range s.filter(ops, false) {
		if op.OK {
			last, n = max(last, op.End), n+1
		}
	}
	return last, n
}

// Declared returns the events in w in which an observer reported node down
// (a nodedown event of its agent), and the views (history.MarkView) in w
// that lacked it.
func Declared(ops []history.Op, marks []history.Mark, node string, w Window) (events []history.Op, views []history.Mark) {
	for _, op := range ops {
		if op.Type == history.OpWatch && op.Field == "nodedown" && op.Value == node && w.Contains(op.Start) {
			events = append(events, op)
		}
	}
	for _, m := range marks {
		if m.Type == history.MarkView && w.Contains(m.T) && len(m.Nodes) > 0 && m.Nodes[0] != node && !set(m.Members)[node] {
			views = append(views, m)
		}
	}
	return events, views
}

// Detection returns when the last of observers reported victim down after
// since (the nodedown event its agent sent its load generator); ok is
// false if one of them never did.
func Detection(ops []history.Op, victim string, observers []string, since int64) (int64, bool) {
	first := map[string]int64{}
	for _, op := range ops {
		if op.Type != history.OpWatch || op.Field != "nodedown" || op.Value != victim || op.Start < since {
			continue
		}
		if t, ok := first[op.Node]; !ok || op.Start < t {
			first[op.Node] = op.Start
		}
	}
	var last int64
	for _, o := range observers {
		t, ok := first[o]
		if !ok {
			return 0, false
		}
		last = max(last, t)
	}
	return last, true
}
