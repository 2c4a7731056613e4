package node

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

// Proc is a process: a goroutine with a mailbox, running a Behavior. The
// behaviour gets its *Proc in every callback. Methods are meant to be called
// from the process's own goroutine (inside callbacks), except Self, Node,
// Kind, Codec and Send, which are safe anywhere.
//
// An Inbox is backed by a Proc without a goroutine.
type Proc struct {
	n     *Node
	pid   PID
	kind  string
	beh   Behavior // nil for an inbox
	mb    *mailbox
	inbox bool

	trap atomic.Bool  // TrapExit; read by signal senders
	fz   atomic.Int32 // freeze state: fzRunning, fzFreezing or fzFrozen (handoff.go)

	// Owned by the process goroutine.
	stop     *Reason     // set to end the loop after the current envelope
	handoff  *handoffCtl // set with a Handoff stop
	inCall   bool        // inside HandleCall
	callFrom PID         // the current call's caller and ref
	callRef  uint64
	deferred bool // the current call's reply was deferred

	name string // registered name; guarded by Node.regMu

	exited     bool   // guarded by Node.relMu
	exitReason Reason // guarded by Node.relMu; valid once exited

	repMu   sync.Mutex // guards replies
	replies map[*Reply]struct{}

	closeOnce sync.Once // an inbox's exit
}

func (n *Node) newProc(kind string, beh Behavior, inbox bool) *Proc {
	id := n.nextID.Add(1)
	return &Proc{
		n: n, kind: kind, beh: beh, inbox: inbox,
		pid: PID{Node: n.name, ID: id, Creation: n.creation},
		mb:  newMailbox(n.cfg.MailboxSize),
	}
}

// Self returns the process's PID.
func (p *Proc) Self() PID { return p.pid }

// Node returns the node the process runs on.
func (p *Proc) Node() *Node { return p.n }

// Kind returns the process's kind name ("" for an inbox).
func (p *Proc) Kind() string { return p.kind }

// Codec returns the node's codec.
func (p *Proc) Codec() Codec { return p.n.cfg.Codec }

// Send sends payload to dest with this process as the sender. See
// Node.Send.
func (p *Proc) Send(dest Dest, payload []byte) error { return p.n.send(p.pid, dest, payload) }

// Call calls dest from this process and waits for the reply (ctx without a
// deadline gets Config.CallTimeout). Calling itself fails at once with
// ErrCallSelf instead of deadlocking.
func (p *Proc) Call(ctx context.Context, dest Dest, req []byte) ([]byte, error) {
	if p.isSelf(dest) {
		return nil, fmt.Errorf("%w: %s", ErrCallSelf, p.pid)
	}
	return p.n.call(ctx, p.pid, dest, req)
}

func (p *Proc) isSelf(dest Dest) bool {
	switch d := dest.(type) {
	case PID:
		return d == p.pid
	case Named:
		if d.Node != "" && d.Node != p.n.name {
			return false
		}
		return p.n.whereisProc(d.Name) == p
	}
	return false
}

// Monitor monitors dest (a PID or a Named, local or remote): exactly one
// Down arrives for the returned Ref, unless Demonitor removes it first.
func (p *Proc) Monitor(dest Dest) Ref { return p.n.monitor(p, dest) }

// Demonitor removes a monitor. No Down for it is delivered afterwards, even
// one already queued. It reports whether the monitor was still active.
func (p *Proc) Demonitor(ref Ref) bool { return p.n.demonitor(p, ref) }

// Link links this process with pid: when either exits with an abnormal
// reason, the other gets the exit signal (and exits too unless it traps
// exits). Linking to a dead process delivers an exit signal with reason
// noproc; a lost connection counts as reason noconnection.
func (p *Proc) Link(pid PID) error { return p.n.link(p, pid) }

// Unlink removes the link with pid, if any.
func (p *Proc) Unlink(pid PID) { p.n.unlink(p, pid) }

// TrapExit sets whether exit signals (other than a kill) arrive as Exit
// messages instead of stopping the process.
func (p *Proc) TrapExit(on bool) { p.trap.Store(on) }

// Exit stops the process with reason once the current callback returns
// (exit/1). Terminate runs unless reason is Killed.
func (p *Proc) Exit(reason Reason) {
	if p.stop == nil {
		p.stop = &reason
	}
}

// Register registers this process under name on its node.
func (p *Proc) Register(name string) error { return p.n.register(name, p) }

// Unregister removes this process's registered name, if any.
func (p *Proc) Unregister() { p.n.unregisterProc(p) }

// Name returns the process's registered name, or "".
func (p *Proc) Name() string {
	p.n.regMu.RLock()
	defer p.n.regMu.RUnlock()
	return p.name
}

// MonitorNode delivers one NodeDown when node disconnects (Node.monitor/2).
// If node cannot be connected to (within ctx), the NodeDown comes at once.
func (p *Proc) MonitorNode(ctx context.Context, node string) { p.n.monitorNode(ctx, p, node) }

// DemonitorNode removes one MonitorNode for node.
func (p *Proc) DemonitorNode(node string) { p.n.demonitorNode(p, node) }

// MonitorNodes subscribes (on) or unsubscribes the process to NodeUp and
// NodeDown for every node (:net_kernel.monitor_nodes/2); hidden also
// reports hidden nodes.
func (p *Proc) MonitorNodes(on, hidden bool) { p.n.monitorNodes(p, on, hidden) }

// DeferReply, called inside HandleCall, takes over the reply: HandleCall's
// return values are ignored and the returned Reply answers the caller later,
// from any goroutine. If the process exits first, the caller gets
// ErrNoProc. Outside HandleCall it returns nil.
func (p *Proc) DeferReply() *Reply {
	if !p.inCall || p.deferred {
		return nil
	}
	p.deferred = true
	r := &Reply{p: p, to: p.callFrom, ref: p.callRef}
	p.repMu.Lock()
	if p.replies == nil {
		p.replies = map[*Reply]struct{}{}
	}
	p.replies[r] = struct{}{}
	p.repMu.Unlock()
	return r
}

// Reply is a deferred reply (see Proc.DeferReply).
type Reply struct {
	p    *Proc
	to   PID
	ref  uint64
	done atomic.Bool
}

// Send answers the call; only the first Send has an effect. Safe from any
// goroutine.
func (r *Reply) Send(resp []byte, err error) {
	if !r.done.CompareAndSwap(false, true) {
		return
	}
	r.p.repMu.Lock()
	delete(r.p.replies, r)
	r.p.repMu.Unlock()
	r.p.n.reply(r.p.pid, r.to, r.ref, resp, err)
}

// failReplies answers every outstanding deferred reply after exit.
func (p *Proc) failReplies(reason Reason) {
	p.repMu.Lock()
	rs := make([]*Reply, 0, len(p.replies))
	for r := range p.replies {
		rs = append(rs, r)
	}
	p.repMu.Unlock()
	for _, r := range rs {
		r.Send(nil, exitedErr(p.pid, reason))
	}
}

func exitedErr(pid PID, reason Reason) error {
	return fmt.Errorf("%w: %s exited (%s)", ErrNoProc, pid, reason)
}

// run is the process goroutine: Init, then the loop, then exit.
func (p *Proc) run(args []byte, opts SpawnOpts, report func(PID, error) bool) {
	if err := p.start(args, opts); err != nil {
		p.n.exitProc(p, ErrorReason(err))
		report(PID{}, err)
		return
	}
	if !report(p.pid, nil) && p.stop == nil {
		p.stop = &Reason{Kind: Error, Err: "spawn abandoned: the spawner gave up waiting"}
	}
	p.loop()
}

// start runs Init, ImportState and the spawn link.
func (p *Proc) start(args []byte, opts SpawnOpts) error {
	var err error
	if perr := p.safely(func() { err = p.beh.Init(p, args) }); perr != nil {
		err = perr
	}
	if err == nil && opts.HasState {
		err = p.importState(opts.State)
	}
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrInit, p.kind, err)
	}
	if !opts.LinkTo.IsZero() {
		_ = p.n.link(p, opts.LinkTo)
	}
	return nil
}

func (p *Proc) importState(state []byte) error {
	imp, ok := p.beh.(StateImporter)
	if !ok {
		return fmt.Errorf("%w: kind %s does not implement StateImporter", ErrBadArg, p.kind)
	}
	var err error
	if perr := p.safely(func() { err = imp.ImportState(p, state) }); perr != nil {
		err = perr
	}
	return err
}

func (p *Proc) loop() {
	for p.stop == nil {
		e, ok := p.mb.pop(p.fz.Load() == fzFrozen)
		if !ok {
			<-p.mb.notify
			continue
		}
		p.dispatch(e)
	}
	reason := *p.stop
	if reason.Kind != Killed {
		p.safely(func() { p.beh.Terminate(p, reason) })
	}
	p.n.exitProc(p, reason)
}

// safely runs user code; a panic stops the process with an Error reason and
// is returned as an error.
func (p *Proc) safely(f func()) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("panic: %v", v)
			p.n.warns.Warn("process-panic:"+p.kind, "process panicked", func(ev *zerolog.Event) *zerolog.Event {
				return ev.Str("pid", p.pid.String()).Str("kind_name", p.kind).Err(err)
			})
			if p.stop == nil {
				r := ErrorReason(err)
				p.stop = &r
			}
		}
	}()
	f()
	return nil
}

func (p *Proc) dispatch(e envelope) {
	switch e.kind {
	case envMsg:
		p.handle(Message{From: e.from, Payload: e.payload})
	case envCall:
		p.handleCall(e)
	case envDown:
		if p.n.takeDown(p, Ref(e.ref)) {
			p.handle(downMsg(e))
		}
	case envExit:
		p.handleExit(e)
	case envNodeUp:
		p.handle(NodeUp{Node: e.sys.name, Hidden: e.sys.hidden})
	case envNodeDown:
		p.handle(NodeDown{Node: e.sys.name, Hidden: e.sys.hidden, Reason: e.sys.err})
	default:
		p.control(e)
	}
}

// control handles the handoff and shutdown envelopes.
func (p *Proc) control(e envelope) {
	switch e.kind {
	case envFreeze:
		p.freeze(e.sys.freeze)
	case envThaw:
		// Thaw changed the state already; this only woke the loop.
	case envHandoff:
		if p.stop == nil {
			p.stop = &Reason{Kind: Handoff, NewPID: e.sys.handoff.to}
			p.handoff = e.sys.handoff
		}
	case envShutdown:
		if p.stop != nil {
			break
		}
		r := Reason{Kind: Shutdown}
		if e.sys != nil { // Stop: its reason, and done to close at exit
			r, p.handoff = e.sys.reason, e.sys.handoff
		}
		p.stop = &r
	}
}

func downMsg(e envelope) Down {
	return Down{Ref: Ref(e.ref), PID: e.from, Name: e.sys.name, Node: e.sys.node, Reason: e.sys.reason}
}

func (p *Proc) handle(m Msg) {
	p.safely(func() { p.beh.HandleMessage(p, m) })
}

func (p *Proc) handleCall(e envelope) {
	if e.expired(time.Now()) {
		return // the caller has given up; nobody reads the reply
	}
	p.inCall, p.callFrom, p.callRef, p.deferred = true, e.from, e.ref, false
	var resp []byte
	var err error
	perr := p.safely(func() { resp, err = p.beh.HandleCall(p, e.from, e.payload) })
	p.inCall = false
	if p.deferred {
		return
	}
	if perr != nil {
		resp, err = nil, exitedErr(p.pid, ErrorReason(perr))
	}
	p.n.reply(p.pid, e.from, e.ref, resp, err)
}

func (p *Proc) handleExit(e envelope) {
	s := e.sys
	switch {
	case s.kill:
		p.Exit(Reason{Kind: Killed})
	case p.trap.Load():
		p.handle(Exit{From: e.from, Reason: s.reason})
	case s.reason.normalForLinks():
	default:
		p.Exit(s.reason)
	}
}
