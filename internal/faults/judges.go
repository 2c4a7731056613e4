package faults

import (
	"fmt"
	"strings"
	"time"

	"github.com/placerhq/placer/internal/faults/check"
	"github.com/placerhq/placer/internal/faults/history"
)

// detection returns when every observer had reported the victim down
// (the agents' nodedown events; the observer's views if an event is
// missing), as a span from the fault; false if neither shows it.
func (e *env) detection(h *hist, victim string, observers []string) (time.Duration, bool) {
	if t, ok := check.Detection(h.ops, victim, observers, e.f.fault); ok {
		return time.Duration(t - e.f.fault), true
	}
	return time.Duration(e.f.detectedByViews - e.f.fault), e.f.detectedByViews != 0
}

// detectionFigure reports the detection and returns it.
func (e *env) detectionFigure(h *hist, victim string, observers []string) (time.Duration, bool) {
	det, ok := e.detection(h, victim, observers)
	if !ok {
		e.figure("failure detected by "+shorts(observers), "never (within %v)", detectTimeout)
		return 0, false
	}
	e.figure("failure detected by "+shorts(observers)+" after", "%v", det.Round(time.Millisecond))
	return det, true
}

// reownBound: every key served again, through the given nodes, within the
// detection + 1 s (failed if the fault was never detected).
func (e *env) reownBound(h *hist, through []string, until int64, det time.Duration, detected bool) {
	r := check.ReownTimes(h.ops, check.Scope{Nodes: through, Window: check.Window{From: e.f.fault, To: until}})
	b := within("every key served again after the fault (max over keys)", srcIssue, time.Duration(r.Max), det+time.Second,
		len(r.Never) > 0, " (detection "+det.Round(time.Millisecond).String()+" + 1 s)")
	if !detected {
		b.Pass, b.Limit = false, "≤ detection + 1 s: the fault was never detected"
	}
	e.bound(b)
	e.figure("re-own through "+shorts(through), "%s", reownText(r))
}

// settleBound: one process per key within 5 s of the merge.
func (e *env) settleBound(h *hist) {
	at, ok := check.Settled(h.marks, e.f.merged, e.keys(), e.live())
	if e.f.merged == 0 {
		ok = false
	}
	e.bound(within("every key on exactly one node after the merge", srcIssue, time.Duration(at-e.f.merged), healBound, !ok, ""))
	if e.f.merged == 0 {
		e.figure("heal to merged views", "never (within %v)", mergeTimeout)
	} else {
		e.figure("heal to merged views", "%v", check.Ms(e.f.merged-e.f.heal))
	}
	e.f.allowed = []check.Window{{From: e.f.fault, To: e.f.merged + int64(healBound)}}
}

// lossBound is a bound "no acknowledged kv write lost" (and, with
// counters, no acknowledged increment): it fails too when keys' final
// state could not be read (their writes are not shown to survive).
func lossBound(name, source string, l check.Loss, counters bool) Bound {
	b := zero(name, source, len(l.Lost), lostDetail(l))
	if l.Unverified > 0 {
		b.Pass = false
		b.Measured += fmt.Sprintf("; %d more unverified (their key's final state could not be read)", l.Unverified)
	}
	if counters && (l.IncrLost > 0 || l.IncrUnverified > 0) {
		b.Pass = false
		b.Measured += fmt.Sprintf("; counters: %d of %d increments missing, %d unverified", l.IncrLost, l.IncrAcked, l.IncrUnverified)
	}
	return b
}

// lossMerge: no acknowledged kv write lost across a heal (kv merges both
// sides' writes, per entry).
func (e *env) lossMerge(h *hist) {
	e.bound(lossBound("acknowledged kv writes lost across the heal", srcDesign+" (kv merges both sides per entry)", h.loss, false))
}

// lossReplicated: no acknowledged write (kv write or counter increment)
// lost to a single crash or pause, with R ≥ 2 (only when R ≥ 2 was asked
// for).
func (e *env) lossReplicated(h *hist, what string) {
	l := h.loss
	if e.opts.Replicas < 2 {
		e.figure("acknowledged writes lost (R = 1: the design restarts the keys fresh)", "kv %d, counter increments %d", len(l.Lost), l.IncrLost)
		return
	}
	b := lossBound("acknowledged writes lost (kv writes, counter increments) "+what,
		srcDesign+" (replication, R = "+itoa(e.opts.Replicas)+")", l, true)
	e.bound(e.replicasNote(b))
}

// replicasNote marks a bound measured without the replication it assumes.
func (e *env) replicasNote(b Bound) Bound {
	if !e.caps.replicas {
		b.Note = "measured at R = 1: this agent has no --replicas"
	}
	return b
}

func lostDetail(l check.Loss) string {
	keys := map[string]bool{}
	for _, op := range l.Lost {
		keys[op.Key] = true
	}
	return fmt.Sprintf("of %d, on %d keys", l.Acked, len(keys))
}

func shorts(names []string) string {
	var s []string
	for _, n := range names {
		s = append(s, strings.SplitN(n, "@", 2)[0])
	}
	return strings.Join(s, ",")
}

func judgeKill(e *env, h *hist) {
	victim := e.f.victims[0]
	survivors := others(e.names(1, 2, 3, 4, 5), victim)
	det, detected := e.detectionFigure(h, victim, survivors)
	var survivorKeys []string
	for key, owner := range e.f.owners {
		if owner != victim {
			survivorKeys = append(survivorKeys, key)
		}
	}
	total, failed, codes := check.Errors(h.ops, check.Scope{Nodes: survivors, Keys: survivorKeys, Window: check.Window{From: e.f.fault, To: e.f.end}})
	e.bound(zero("failed requests for the survivors' keys, through the survivors", srcIssue, failed,
		fmt.Sprintf("of %d %s", total, codeList(codes))))
	e.reownBound(h, survivors, e.f.end, det, detected)
	e.lossReplicated(h, "to a crash")
}

func judgeStopShort(e *env, h *hist) {
	victim := e.f.victims[0]
	events, views := check.Declared(h.ops, h.marks, victim, check.Window{From: e.f.fault, To: e.f.end})
	detail := ""
	if len(events) > 0 {
		detail = fmt.Sprintf("first by %s after %v", events[0].Node, check.Ms(events[0].Start-e.f.fault))
	}
	e.bound(zero("failures declared (nodedown events and views without it)", srcIssue, len(events)+len(views), detail))
	total, failed, codes := check.Errors(h.ops, check.Scope{Window: check.Window{From: e.f.fault, To: e.f.heal + int64(2*time.Second)}})
	e.figure("requests from the stop to 2 s after SIGCONT", "%d, %d failed %s", total, failed, codeList(codes))
	e.figure("slowest call in that span", "%v", slowest(h.ops, e.f.fault, e.f.heal+int64(2*time.Second)))
	e.lossReplicated(h, "to a 1 s pause")
}

// slowest returns the longest call that started in [from, to).
func slowest(ops []history.Op, from, to int64) time.Duration {
	var d int64
	for _, op := range ops {
		if op.Start >= from && op.Start < to && (op.Type == history.OpWrite || op.Type == history.OpIncr || op.Type == history.OpRead) {
			d = max(d, op.End-op.Start)
		}
	}
	return check.Ms(d)
}

// judgeIsolated judges a node cut off (pause, link down, packet filter).
func judgeIsolated(e *env, h *hist) {
	victim, rest := e.f.victims[0], e.f.sides[1]
	det, detected := e.detectionFigure(h, victim, rest)
	e.reownBound(h, rest, e.f.heal, det, detected)
	e.settleBound(h)
	e.lossMerge(h)
	if e.sc.Name == "stop-long" { // a pause, not a cut: the other side never served
		e.lossReplicated(h, "to a pause past detection")
	}
	total, failed, codes := check.Errors(h.ops, check.Scope{Nodes: []string{victim}, Window: check.Window{From: e.f.fault, To: e.f.heal}})
	e.figure("requests through the cut-off node during the fault", "%d, %d failed %s", total, failed, codeList(codes))
}

func judgeSplit(e *env, h *hist) {
	for _, side := range e.f.sides {
		r := check.ReownTimes(h.ops, check.Scope{Nodes: side, Window: check.Window{From: e.f.fault, To: e.f.heal}})
		e.figure("re-own during the split through "+shorts(side), "%s", reownText(r))
	}
	if e.f.detectedByViews != 0 {
		e.figure("split seen by both sides after", "%v", check.Ms(e.f.detectedByViews-e.f.fault))
	}
	e.settleBound(h)
	e.lossMerge(h)
}

func judgeQuorum(e *env, h *hist) {
	minority, split := e.f.sides[0], check.Window{From: e.f.fault, To: e.f.heal}
	noQ := quorumLost(h.marks, minority, e.f.fault)
	last, n := check.LastOK(h.ops, check.Scope{Nodes: minority, Window: check.Window{From: noQ, To: e.f.heal}})
	e.bound(zero("requests the minority acknowledged after it lost its quorum", srcIssue, n,
		fmt.Sprintf("last %v after the cut", check.Ms(last-e.f.fault))))
	lastAny, nAny := check.LastOK(h.ops, check.Scope{Nodes: minority, Window: split})
	e.figure("minority: quorum lost after", "%v; it acknowledged %d requests after the cut, the last %v after it",
		check.Ms(noQ-e.f.fault), nAny, check.Ms(lastAny-e.f.fault))
	_, both := check.Served(h.ops, e.f.sides, split)
	e.bound(zero("keys written (acknowledged) by both sides during the split", srcIssue, len(both), strings.Join(first(both, 5), ", ")))
	e.settleBound(h)
	e.lossMerge(h)
}

// quorumLost returns when every node of side had reported no quorum
// after since (from the observer's views); since if one never did.
func quorumLost(marks []history.Mark, side []string, since int64) int64 {
	first := map[string]int64{}
	for _, m := range marks {
		if m.Type == history.MarkView && m.T >= since && m.Quorum != nil && !*m.Quorum && len(m.Nodes) > 0 {
			if _, ok := first[m.Nodes[0]]; !ok {
				first[m.Nodes[0]] = m.T
			}
		}
	}
	var last int64
	for _, n := range side {
		t, ok := first[n]
		if !ok {
			return since
		}
		last = max(last, t)
	}
	return last
}

func judgeACCut(e *env, h *hist) {
	dupAtEnd := 0
	for _, m := range h.marks {
		if m.Type == history.MarkHosted && m.T < e.f.heal {
			dupAtEnd = countDups(m)
		}
	}
	e.bound(zero("keys held by two nodes at the end of the cut", srcIssue, dupAtEnd, ""))
	a, c := e.f.sides[0][0], e.f.sides[1][0]
	for _, pair := range [][2]string{{a, c}, {c, a}} {
		var keys []string
		for key, owner := range e.f.owners {
			if owner == pair[1] {
				keys = append(keys, key)
			}
		}
		total, failed, codes := check.Errors(h.ops, check.Scope{Nodes: []string{pair[0]}, Keys: keys, Window: check.Window{From: e.f.fault, To: e.f.heal}})
		e.figure("requests through "+shorts(pair[:1])+" for keys of "+shorts(pair[1:]), "%d, %d failed %s", total, failed, codeList(codes))
	}
	events, _ := check.Declared(h.ops, nil, c, check.Window{From: e.f.fault, To: e.f.heal})
	e.figure("nodedown events during the cut", "%d for %s", len(events), shorts([]string{c}))
	at, ok := check.Settled(h.marks, e.f.merged, e.keys(), e.live())
	e.figure("one process per key after the heal", "%v (settled %v)", check.Ms(at-e.f.merged), ok)
}

// countDups counts the keys active on two nodes in a snapshot.
func countDups(m history.Mark) int {
	n := 0
	for _, nodes := range m.Copies {
		if len(check.Holding(nodes)) > 1 {
			n++
		}
	}
	return n
}

func judgeRolling(e *env, h *hist) {
	b := lossBound("acknowledged writes lost (kv writes, counter increments) in a rolling restart",
		srcIssue+" (R = 2); "+srcDesign+" (graceful leave)", h.loss, true)
	e.bound(e.replicasNote(b))
	total, failed, codes := 0, 0, map[string]int{}
	for _, r := range e.f.restarts {
		t, f, c := check.Errors(h.ops, check.Scope{Nodes: others(e.names(1, 2, 3, 4, 5), r.node), Window: check.Window{From: r.from, To: r.to}})
		total, failed = total+t, failed+f
		for k, v := range c {
			codes[k] += v
		}
	}
	e.figure("requests through the other nodes while one restarted", "%d, %d failed %s", total, failed, codeList(codes))
	var worst int64
	for _, r := range e.f.restarts {
		worst = max(worst, check.ReownTimes(h.ops, check.Scope{Nodes: others(e.names(1, 2, 3, 4, 5), r.node),
			Window: check.Window{From: r.from, To: r.to + int64(settleLoad)}}).Max)
	}
	e.figure("re-own through the other nodes after each SIGTERM (worst of the five)", "every key served again after max %v", check.Ms(worst))
}

func judgeRestart(e *env, h *hist) {
	if e.f.merged != 0 {
		e.figure("killed to back in every view", "%v", check.Ms(e.f.merged-e.f.fault))
	}
	rest := others(e.names(1, 2, 3, 4, 5), e.f.victims...)
	r := check.ReownTimes(h.ops, check.Scope{Nodes: rest, Window: check.Window{From: e.f.fault, To: e.f.end}})
	e.figure("re-own through "+shorts(rest), "%s", reownText(r))
	e.settleBound(h)
	e.lossReplicated(h, "to a crash and restart")
}
