package faults

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/placerhq/placer/internal/faults/check"
	"github.com/placerhq/placer/internal/faults/history"
	"github.com/placerhq/placer/internal/faults/load"
	"github.com/placerhq/placer/internal/faults/netns"
	"github.com/placerhq/placer/internal/poll"
	"github.com/placerhq/placer/placement"
)

// env is one scenario's run: its cluster, load, observer, records and the
// facts its script establishes for the judge. Only the scenario's
// goroutine uses it, except mark (also the observer's).
type env struct {
	ctx      context.Context
	opts     *Options
	sc       Scenario
	caps     caps
	net      *netns.Net
	nodes    []*member
	dir      string // this scenario's histories and logs
	cookie   string
	namesDir string
	obs      *observer
	workers  []*worker
	stopped  map[string]bool // agents under SIGSTOP
	f        facts

	mu    sync.Mutex // guards marks and hw
	marks []history.Mark
	hw    *history.Writer
}

// facts are what a scenario's script did and saw, for its judge.
type facts struct {
	fault, heal     int64    // the fault's injection and end (0: none)
	victims         []string // the nodes the fault hit
	sides           [][]string
	owners          map[string]string // key -> owner before the fault
	merged          int64             // views merged after the heal
	detectedByViews int64             // every observer's view reflected the fault
	allowed         []check.Window    // where duplicates are allowed
	figures         []Figure          // scenario-specific measurements
	bounds          []Bound           // scenario-specific bounds measured by the script
	end             int64             // the load stopped
	restarts        []restart         // rolling: each node's restart
}

// restart is the span from one node's SIGTERM until it was back in every
// view.
type restart struct {
	node     string
	from, to int64
}

// mark records m (with the current time if m.T is 0).
func (e *env) mark(m history.Mark) {
	if m.T == 0 {
		m.T = history.Now()
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.marks = append(e.marks, m)
	e.hw.Add(m)
}

func markFault(label string, nodes ...string) history.Mark {
	return history.Mark{Type: history.MarkFault, Label: label, Nodes: nodes}
}

// phase marks a step of the scenario and reports it.
func (e *env) phase(format string, args ...any) {
	label := fmt.Sprintf(format, args...)
	e.mark(history.Mark{Type: history.MarkPhase, Label: label})
	e.opts.progress("  %s: %s", e.sc.Name, label)
}

// sleep waits d unless the run is cancelled.
func (e *env) sleep(d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-e.ctx.Done():
		return e.ctx.Err()
	}
}

// waitViews polls the observer's views read after since until cond holds
// for them, and returns the time it held.
func (e *env) waitViews(what string, since int64, timeout time.Duration, cond func(map[string]view) error) (int64, error) {
	err := poll.Until(e.ctx, timeout, func() error { return cond(e.obs.latest(since)) })
	if err != nil {
		return 0, fmt.Errorf("%w: %s: %w", ErrTimeout, what, err)
	}
	return history.Now(), nil
}

// waitMerged waits until every node of live reports a view of exactly
// live, all with one checksum.
func (e *env) waitMerged(since int64, timeout time.Duration) (int64, error) {
	live := e.live()
	t, err := e.waitViews("views merged", since, timeout, func(vs map[string]view) error {
		var sum placement.Checksum
		for i, name := range live {
			v, ok := vs[name]
			switch {
			case !ok:
				return fmt.Errorf("no view from %s yet", name)
			case !sameSet(v.members, live):
				return fmt.Errorf("%s sees %v", name, v.members)
			case i > 0 && v.checksum != sum:
				return fmt.Errorf("%s has another checksum", name)
			}
			sum = v.checksum
		}
		return nil
	})
	if err == nil {
		e.mark(history.Mark{T: t, Type: history.MarkMerged, Nodes: live})
	}
	return t, err
}

// waitDetected waits until the view of every node of observers lacks
// every node of victims.
func (e *env) waitDetected(since int64, victims, observers []string, timeout time.Duration) (int64, error) {
	t, err := e.waitViews("fault detected", since, timeout, func(vs map[string]view) error {
		for _, name := range observers {
			v, ok := vs[name]
			if !ok {
				return fmt.Errorf("no view from %s yet", name)
			}
			for _, victim := range victims {
				if slices.Contains(v.members, victim) {
					return fmt.Errorf("%s still lists %s", name, victim)
				}
			}
		}
		return nil
	})
	if err == nil {
		e.mark(history.Mark{T: t, Type: history.MarkDetected, Nodes: observers})
	}
	return t, err
}

// waitSettled waits until a hosted snapshot taken after since shows every
// key on one node, and returns its time.
func (e *env) waitSettled(since int64, timeout time.Duration) (int64, error) {
	keys, live := e.keys(), e.live()
	var at int64
	err := poll.Until(e.ctx, timeout, func() error {
		e.mu.Lock()
		defer e.mu.Unlock()
		for i := len(e.marks) - 1; i >= 0 && e.marks[i].T >= since; i-- {
			if m := e.marks[i]; m.Type == history.MarkHosted {
				if check.Clean(m, keys, live) {
					at = m.T
					return nil
				}
				return fmt.Errorf("snapshot at +%v not clean", check.Ms(m.T-since))
			}
		}
		return fmt.Errorf("no snapshot yet")
	})
	if err != nil {
		return 0, fmt.Errorf("%w: keys settled: %w", ErrTimeout, err)
	}
	return at, nil
}

// keys returns the keyed processes of the load, "kind/key".
func (e *env) keys() []string {
	var out []string
	for _, k := range load.Keys(e.opts.Keys) {
		out = append(out, load.KindKV+"/"+k, load.KindCounter+"/"+k)
	}
	return out
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}
