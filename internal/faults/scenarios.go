package faults

import (
	"errors"
	"syscall"
	"time"

	"github.com/placerhq/placer/internal/faults/check"
	"github.com/placerhq/placer/internal/faults/history"
)

// Scenario is one fault under load: a script that injects and heals it,
// and a judge that turns the histories into bounds and figures.
type Scenario struct {
	Name   string
	Title  string
	Quorum bool // the agents run with --quorum
	script func(*env) error
	judge  func(*env, *hist)
}

// Scenarios returns every scenario, in the order a full run takes them.
func Scenarios() []Scenario {
	return []Scenario{
		{Name: "kill", Title: "SIGKILL one agent under load", script: scriptKill, judge: judgeKill},
		{Name: "stop-short", Title: "SIGSTOP one agent for 1 s, then SIGCONT", script: scriptStopShort, judge: judgeStopShort},
		{Name: "stop-long", Title: "SIGSTOP one agent past failure detection, then SIGCONT", script: scriptStopLong, judge: judgeIsolated},
		{Name: "link", Title: "cut one node's link at the bridge (ip link set down), then restore it", script: scriptLink, judge: judgeIsolated},
		{Name: "isolate", Title: "isolate one node with packet filters (silent both ways), then heal", script: scriptIsolate, judge: judgeIsolated},
		{Name: "partition", Title: "a 2|3 split under load, then heal", script: scriptSplit, judge: judgeSplit},
		{Name: "quorum", Title: "a 2|3 split under load in quorum mode, then heal", Quorum: true, script: scriptSplit, judge: judgeQuorum},
		{Name: "ac-cut", Title: "cut only A–C while both still reach B, then heal", script: scriptACCut, judge: judgeACCut},
		{Name: "rolling", Title: "a rolling restart under load (SIGTERM, start again, one node at a time)", script: scriptRolling, judge: judgeRolling},
		{Name: "restart", Title: "SIGKILL one agent and start it again at once under the same name", script: scriptRestart, judge: judgeRestart},
		{Name: "cookie", Title: "an agent and a CLI with a wrong cookie try to join and call", script: scriptCookie, judge: judgeCookie},
	}
}

// selected returns the scenarios of table named (all if none), in table
// order.
func selected(table []Scenario, names []string) []Scenario {
	var out []Scenario
	for _, sc := range table {
		if len(names) == 0 || contains(names, sc.Name) {
			out = append(out, sc)
		}
	}
	return out
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// Bounds of the waits for the cluster: a fault seen, views merged, one
// process per key. A wait that runs out is a measured failure (the bounds
// fail), not a harness error: the scenario goes on (see soft).
const (
	detectTimeout = 30 * time.Second
	mergeTimeout  = 60 * time.Second
	settleTimeout = 30 * time.Second
)

// soft turns a wait that ran out (ErrTimeout) into a note and a figure,
// so that the scenario goes on to the verification and the judge measures
// what happened; other errors stay errors.
func (e *env) soft(err error) error {
	if !errors.Is(err, ErrTimeout) {
		return err
	}
	e.phase("%v", err)
	e.figure("a wait ran out", "%v", err)
	return nil
}

// settleLoad is how long the load runs after the cluster settled.
const settleLoad = 2 * time.Second

// beginFault records the owners of every key, then the fault's start.
func (e *env) beginFault(victims ...string) error {
	owners, err := e.obs.lookupOwners(e.ctx, e.nodeByName(e.live()[0]), keysOnly(e.opts.Keys))
	if err != nil {
		return err
	}
	e.f.owners, e.f.victims = owners, victims
	e.mark(history.Mark{Type: history.MarkOwners, Owners: owners})
	e.f.fault = history.Now()
	return nil
}

// afterHeal waits for the views to merge and the keys to settle, then
// keeps the load running a little.
func (e *env) afterHeal() error {
	e.f.heal = history.Now()
	e.phase("wait for the views to merge")
	merged, err := e.waitMerged(e.f.heal, mergeTimeout)
	if err := e.soft(err); err != nil {
		return err
	}
	e.f.merged = merged
	e.phase("wait for one process per key")
	_, err = e.waitSettled(max(merged, e.f.heal), settleTimeout)
	if err := e.soft(err); err != nil {
		return err
	}
	return e.sleep(settleLoad)
}

func scriptKill(e *env) error {
	v := e.nodes[2]
	if err := e.beginFault(v.name); err != nil {
		return err
	}
	e.phase("SIGKILL %s", v.short())
	if err := e.kill(v); err != nil {
		return err
	}
	t, err := e.waitDetected(e.f.fault, e.f.victims, e.live(), detectTimeout)
	if err := e.soft(err); err != nil {
		return err
	}
	e.f.detectedByViews = t
	e.phase("load on the survivors")
	if err := e.sleep(e.opts.hold(false)); err != nil {
		return err
	}
	_, err = e.waitSettled(history.Now(), settleTimeout)
	return e.soft(err)
}

func scriptStopShort(e *env) error {
	v := e.nodes[1]
	if err := e.beginFault(v.name); err != nil {
		return err
	}
	e.phase("SIGSTOP %s for 1 s", v.short())
	if err := e.pause(v); err != nil {
		return err
	}
	if err := e.sleep(time.Second); err != nil {
		return err
	}
	if err := e.resume(v); err != nil {
		return err
	}
	e.f.heal = history.Now()
	e.phase("load after SIGCONT")
	return e.sleep(e.opts.hold(false))
}

// pause SIGSTOPs node n's agent.
func (e *env) pause(n *member) error {
	e.stopped[n.name] = true
	return e.signalAgent(n, syscall.SIGSTOP, "SIGSTOP "+n.short())
}

// resume SIGCONTs it.
func (e *env) resume(n *member) error {
	delete(e.stopped, n.name)
	e.mark(history.Mark{Type: history.MarkHeal, Label: "SIGCONT " + n.short(), Nodes: []string{n.name}})
	return n.agent.signal(syscall.SIGCONT)
}

// isolated runs a fault that cuts node v off (by inject, undone by heal):
// wait until the others drop it, hold, heal, wait for the merge.
func (e *env) isolated(v *member, what string, inject, heal func() error) error {
	if err := e.beginFault(v.name); err != nil {
		return err
	}
	e.f.sides = [][]string{{v.name}, others(e.names(1, 2, 3, 4, 5), v.name)}
	e.phase("%s %s", what, v.short())
	if err := inject(); err != nil {
		return err
	}
	t, err := e.waitDetected(e.f.fault, e.f.victims, e.f.sides[1], detectTimeout)
	if err := e.soft(err); err != nil {
		return err
	}
	e.f.detectedByViews = t
	e.phase("hold %v under load", e.opts.hold(false))
	if err := e.sleep(e.opts.hold(false)); err != nil {
		return err
	}
	if err := heal(); err != nil {
		return err
	}
	e.f.allowed = nil // set by the judge from the merge
	return e.afterHeal()
}

func scriptStopLong(e *env) error {
	v := e.nodes[1]
	return e.isolated(v, "SIGSTOP", func() error { return e.pause(v) }, func() error { return e.resume(v) })
}

func scriptLink(e *env) error {
	v := e.nodes[3]
	return e.isolated(v, "link down at the bridge:", func() error {
		e.mark(markFault("link down "+v.short(), v.name))
		return e.net.LinkDown(e.ctx, v.i)
	}, func() error {
		e.mark(history.Mark{Type: history.MarkHeal, Label: "link up " + v.short(), Nodes: []string{v.name}})
		return e.net.LinkUp(e.ctx, v.i)
	})
}

func scriptIsolate(e *env) error {
	v := e.nodes[4]
	return e.isolated(v, "isolate", func() error { return e.cut([]int{5}, []int{1, 2, 3, 4}) }, e.heal)
}

// cut injects a cut between sides (node indices) and marks it.
func (e *env) cut(sides ...[]int) error {
	var names [][]string
	for _, s := range sides {
		names = append(names, e.names(s...))
	}
	e.mark(history.Mark{Type: history.MarkFault, Label: "cut", Sides: names})
	return e.net.Cut(e.ctx, sides...)
}

// heal removes every cut and marks it.
func (e *env) heal() error {
	e.mark(history.Mark{Type: history.MarkHeal, Label: "heal"})
	return e.net.Heal(e.ctx)
}

func scriptSplit(e *env) error {
	if err := e.beginFault(); err != nil {
		return err
	}
	e.f.sides = [][]string{e.names(1, 2), e.names(3, 4, 5)}
	e.phase("split 1,2 | 3,4,5")
	if err := e.cut([]int{1, 2}, []int{3, 4, 5}); err != nil {
		return err
	}
	if err := e.soft(e.waitSides()); err != nil {
		return err
	}
	e.phase("hold the split %v under load", e.opts.hold(true))
	if err := e.sleep(e.opts.hold(true)); err != nil {
		return err
	}
	if err := e.heal(); err != nil {
		return err
	}
	return e.afterHeal()
}

// waitSides waits until each side's views lack the other side.
func (e *env) waitSides() error {
	a, b := e.f.sides[0], e.f.sides[1]
	ta, err := e.waitDetected(e.f.fault, b, a, detectTimeout)
	if err != nil {
		return err
	}
	tb, err := e.waitDetected(e.f.fault, a, b, detectTimeout)
	e.f.detectedByViews = max(ta, tb)
	return err
}

func scriptACCut(e *env) error {
	if err := e.beginFault(e.names(1, 3)...); err != nil {
		return err
	}
	e.f.sides = [][]string{e.names(1), e.names(3)}
	e.phase("cut n1–n3 only (both reach n2)")
	if err := e.cut([]int{1}, []int{3}); err != nil {
		return err
	}
	e.phase("hold the cut %v under load", e.opts.hold(false))
	if err := e.sleep(e.opts.hold(false)); err != nil {
		return err
	}
	if err := e.heal(); err != nil {
		return err
	}
	return e.afterHeal()
}

func scriptRolling(e *env) error {
	if err := e.beginFault(); err != nil {
		return err
	}
	for _, n := range e.nodes {
		e.phase("SIGTERM %s, start it again", n.short())
		from := history.Now()
		code, err := e.term(n)
		if err != nil {
			return err
		}
		e.figure("exit code of "+n.short()+" on SIGTERM", "%d", code)
		start := history.Now()
		if err := e.startAgent(n); err != nil {
			return err
		}
		t, err := e.waitMerged(start, mergeTimeout)
		if err := e.soft(err); err != nil {
			return err
		}
		e.f.restarts = append(e.f.restarts, restart{node: n.name, from: from, to: t})
		e.figure(n.short()+": SIGTERM to exit, start to back in every view", "%v, %v", check.Ms(start-from), check.Ms(t-start))
		if err := e.sleep(settleLoad); err != nil {
			return err
		}
	}
	e.f.heal = history.Now()
	_, err := e.waitSettled(e.f.heal, settleTimeout)
	return e.soft(err)
}

func scriptRestart(e *env) error {
	v := e.nodes[2]
	if err := e.beginFault(v.name); err != nil {
		return err
	}
	e.phase("SIGKILL %s and start it again", v.short())
	if err := e.kill(v); err != nil {
		return err
	}
	if err := e.startAgent(v); err != nil {
		return err
	}
	return e.afterHeal()
}
