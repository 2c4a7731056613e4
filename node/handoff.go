package node

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
)

// freezeCtl is the handshake between Freeze and the process: the process
// delivers the exported state unless Freeze gave up first, in which case it
// does not freeze.
type freezeCtl struct {
	fz       *atomic.Int32 // the process's freeze state
	mu       sync.Mutex
	gaveUp   bool
	ch       chan freezeResult // capacity 1
	accepted bool
}

// Freeze states of a process (Proc.fz). Only one Freeze may be in flight:
// Freeze claims running -> freezing; the process's answer moves it to
// frozen (under freezeCtl.mu, before the caller can see the answer) or
// back to running; Thaw moves frozen -> running.
const (
	fzRunning int32 = iota
	fzFreezing
	fzFrozen
)

type freezeResult struct {
	state    []byte
	exported bool
	err      error
}

// deliver hands the result over; false if Freeze has given up. The
// process is marked frozen (err == nil) or running again before the caller
// can receive the result, so a second Freeze that follows the first one's
// return always sees it frozen.
func (c *freezeCtl) deliver(state []byte, exported bool, err error) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gaveUp || c.accepted {
		return false
	}
	c.accepted = true
	if err == nil {
		c.fz.Store(fzFrozen)
	} else {
		c.fz.CompareAndSwap(fzFreezing, fzRunning)
	}
	c.ch <- freezeResult{state, exported, err}
	return true
}

// giveUp marks the request abandoned (the process is running again, and a
// new Freeze may be made); false if a result is already there.
func (c *freezeCtl) giveUp() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.accepted {
		return false
	}
	c.gaveUp = true
	c.fz.CompareAndSwap(fzFreezing, fzRunning)
	return true
}

// handoffCtl asks a frozen process to stop and forward to 'to'; done is
// closed when it has (err says why not).
type handoffCtl struct {
	to   PID
	done chan struct{}
	err  error
}

// Freeze prepares the local process pid for a handoff. On the process's own
// goroutine, after every message already in its mailbox has been handled,
// it calls ExportState (if the kind implements StateExporter; exported
// reports whether it did), and from then on the process handles nothing
// more (new messages keep queueing, still bounded by the mailbox size)
// until Thaw resumes it or HandoffTo moves it. If ExportState fails, the
// process is not frozen and the error is returned. If ctx ends first, the
// process is not frozen either. A Freeze of a process that is frozen, or
// that another Freeze is waiting for, fails at once with ErrFrozen.
func (n *Node) Freeze(ctx context.Context, pid PID) (state []byte, exported bool, err error) {
	p, err := n.localProcess(pid)
	if err != nil {
		return nil, false, err
	}
	if !p.fz.CompareAndSwap(fzRunning, fzFreezing) {
		return nil, false, fmt.Errorf("%w: %s", ErrFrozen, pid)
	}
	ctl := &freezeCtl{fz: &p.fz, ch: make(chan freezeResult, 1)}
	if p.mb.push(envelope{kind: envFreeze, sys: &sysInfo{freeze: ctl}}, false) != pushOK {
		p.fz.CompareAndSwap(fzFreezing, fzRunning)
		return nil, false, fmt.Errorf("%w: %s", ErrNoProc, pid)
	}
	ctx, cancel := n.withDefaultTimeout(ctx)
	defer cancel()
	select {
	case r := <-ctl.ch:
		return r.state, r.exported, r.err
	case <-ctx.Done():
		if !ctl.giveUp() {
			r := <-ctl.ch
			return r.state, r.exported, r.err
		}
		return nil, false, timeoutErr(ctx, "freeze "+pid.String())
	}
}

// freeze runs on the process goroutine when the Freeze request comes up.
func (p *Proc) freeze(ctl *freezeCtl) {
	var state []byte
	var err error
	exp, exported := p.beh.(StateExporter)
	if exported {
		if perr := p.safely(func() { state, err = exp.ExportState(p) }); perr != nil {
			err = perr
		}
	}
	if err != nil {
		ctl.deliver(nil, false, fmt.Errorf("%w: export state: %w", ErrHandler, err))
		return
	}
	ctl.deliver(state, exported, nil)
}

// Thaw resumes a frozen process: the handoff is aborted and it handles its
// mailbox again. The process counts as running when Thaw returns (a new
// Freeze may follow at once).
func (n *Node) Thaw(pid PID) error {
	p, err := n.localProcess(pid)
	if err != nil {
		return err
	}
	if !p.fz.CompareAndSwap(fzFrozen, fzRunning) {
		return fmt.Errorf("%w: %s", ErrNotFrozen, pid)
	}
	// Wake the process loop, which reads the state on every turn.
	if p.mb.pushUrgent(envelope{kind: envThaw}) != pushOK {
		return fmt.Errorf("%w: %s", ErrNoProc, pid)
	}
	return nil
}

// HandoffTo completes a handoff of a frozen process: it stops with reason
// Handoff{NewPID: newPID} (Terminate runs; monitors get Down with that
// reason; links get the exit signal, which they treat as normal; its name is
// freed) and every message and call still queued for it, then every one that
// reaches the old PID during Config.HandoffGrace, is forwarded in order to
// newPID (calls keep their caller, so the new process answers them
// directly). It returns once the queue has been forwarded.
func (n *Node) HandoffTo(ctx context.Context, pid, newPID PID) error {
	if newPID.IsZero() || newPID == pid {
		return fmt.Errorf("%w: handoff target %s", ErrBadArg, newPID)
	}
	p, err := n.localProcess(pid)
	if err != nil {
		return err
	}
	if p.fz.Load() != fzFrozen {
		return fmt.Errorf("%w: %s", ErrNotFrozen, pid)
	}
	ctl := &handoffCtl{to: newPID, done: make(chan struct{})}
	if p.mb.pushUrgent(envelope{kind: envHandoff, sys: &sysInfo{handoff: ctl}}) != pushOK {
		return fmt.Errorf("%w: %s", ErrNoProc, pid)
	}
	ctx, cancel := n.withDefaultTimeout(ctx)
	defer cancel()
	select {
	case <-ctl.done:
		return ctl.err
	case <-ctx.Done():
		return timeoutErr(ctx, "handoff "+pid.String())
	}
}

// Stop ends a frozen process (see Freeze) with reason: Terminate runs
// (unless reason is Killed), monitors and links get reason, and what is
// still queued for it is dropped (queued calls fail with ErrNoProc). It is
// for a process whose state was taken with Freeze and kept elsewhere (a
// passivation). It returns once the process has exited.
func (n *Node) Stop(ctx context.Context, pid PID, reason Reason) error {
	if reason.Kind == Handoff {
		return fmt.Errorf("%w: Stop with reason handoff: use HandoffTo", ErrBadArg)
	}
	p, err := n.localProcess(pid)
	if err != nil {
		return err
	}
	if p.fz.Load() != fzFrozen {
		return fmt.Errorf("%w: %s", ErrNotFrozen, pid)
	}
	ctl := &handoffCtl{done: make(chan struct{})}
	if p.mb.pushUrgent(envelope{kind: envShutdown, sys: &sysInfo{reason: reason, handoff: ctl}}) != pushOK {
		return fmt.Errorf("%w: %s", ErrNoProc, pid)
	}
	ctx, cancel := n.withDefaultTimeout(ctx)
	defer cancel()
	select {
	case <-ctl.done:
		return nil
	case <-ctx.Done():
		return timeoutErr(ctx, "stop "+pid.String())
	}
}

// localProcess finds a live local process (not an inbox).
func (n *Node) localProcess(pid PID) (*Proc, error) {
	if pid.Node != n.name {
		return nil, fmt.Errorf("%w: %s is not a local process", ErrBadArg, pid)
	}
	p, _ := n.lookup(pid)
	if p == nil || p.hasExited() {
		return nil, fmt.Errorf("%w: %s", ErrNoProc, pid)
	}
	if p.inbox {
		return nil, fmt.Errorf("%w: %s is an inbox", ErrBadArg, pid)
	}
	return p, nil
}
