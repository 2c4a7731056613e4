package node

import (
	"fmt"

	"github.com/placerhq/placer/transport"
)

// FrameExit's Ref field says which kind of exit signal it carries.
const (
	exitLink     uint64 = 0 // a linked process exited
	exitExplicit uint64 = 1 // Node.Exit (exit/2)
)

// monitor is a monitor whose watcher is local.
type monitor struct {
	watcher PID
	target  PID    // zero while a remote name monitor is unresolved
	name    string // set when monitored by name
	node    string // the target's node
	fired   bool   // Down queued; removed when the watcher takes it
	// binding: a remote name monitor is bound to the incarnation whose
	// connection took its request, as calls are (monitorSent).
	binding
}

// monKey identifies a monitor on a local target: the watcher's node and its
// ref (refs are unique per node).
type monKey struct {
	node string
	ref  Ref
}

// linkKey is a link between a local process and a remote one.
type linkKey struct {
	local  uint64
	remote PID
}

// relations are the monitor, link and node-monitor tables of a node, all
// guarded by Node.relMu.
type relations struct {
	mons         map[Ref]*monitor             // monitors held by local watchers
	monsOf       map[uint64]map[Ref]struct{}  // watcher id -> its monitors
	monsTo       map[string]map[Ref]struct{}  // remote node -> active monitors of its processes
	watchers     map[uint64]map[monKey]PID    // local target id -> watchers
	watchersFrom map[string]map[monKey]uint64 // remote node -> its watchers' keys -> local target id
	links        map[uint64]map[PID]struct{}  // local id -> linked PIDs
	linksTo      map[string]map[linkKey]struct{}
	nodeMons     map[string]map[PID]int // node -> watchers -> MonitorNode count
	nodeSubs     map[PID]bool           // MonitorNodes subscribers -> include hidden
}

func newRelations() relations {
	return relations{
		mons: map[Ref]*monitor{}, monsOf: map[uint64]map[Ref]struct{}{},
		monsTo: map[string]map[Ref]struct{}{}, watchers: map[uint64]map[monKey]PID{},
		watchersFrom: map[string]map[monKey]uint64{}, links: map[uint64]map[PID]struct{}{},
		linksTo: map[string]map[linkKey]struct{}{}, nodeMons: map[string]map[PID]int{},
		nodeSubs: map[PID]bool{},
	}
}

// batch collects what to deliver once relMu is released.
type batch struct {
	notes   []note
	signals []signal
	frames  []outFrame
}

type note struct {
	to PID
	e  envelope
}

type signal struct {
	to       *Proc
	from     PID
	reason   Reason
	explicit bool
}

type outFrame struct {
	node string
	m    *transport.Message
}

func (b *batch) down(m *monitor, ref Ref, reason Reason) {
	b.notes = append(b.notes, note{to: m.watcher, e: envelope{
		kind: envDown, from: m.target, ref: uint64(ref),
		sys: &sysInfo{reason: reason, name: m.name, node: m.node},
	}})
}

func (b *batch) frame(node string, m *transport.Message) {
	b.frames = append(b.frames, outFrame{node, m})
}

// flush delivers the batch. fromCallback bounds the sends (transport
// callbacks must not wait long).
func (b *batch) flush(n *Node, fromCallback bool) {
	b.flushNotes(n)
	b.flushRest(n, fromCallback)
}

// flushNotes delivers the notes to local mailboxes (never blocks).
func (b *batch) flushNotes(n *Node) {
	for _, x := range b.notes {
		n.pushSys(x.to, x.e)
	}
}

// flushRest delivers the exit signals and sends the frames.
func (b *batch) flushRest(n *Node, fromCallback bool) {
	for _, s := range b.signals {
		n.signal(s.to, s.from, s.reason, s.explicit)
	}
	for _, f := range b.frames {
		if fromCallback {
			_ = n.sendBounded(f.node, f.m)
		} else if err := n.sendNode(n.ctx, f.node, f.m); err != nil {
			n.log.Debug().Str("peer", f.node).Err(err).Msg("relation frame not sent")
		}
	}
}

func downFrame(from, to PID, ref Ref, reason Reason) *transport.Message {
	m := &transport.Message{Type: transport.FrameDown, From: wirePID(from), To: wirePID(to), Ref: uint64(ref)}
	wireReason(m, reason)
	return m
}

func exitFrame(from, to PID, kind uint64, reason Reason) *transport.Message {
	m := &transport.Message{Type: transport.FrameExit, From: wirePID(from), To: wirePID(to), Ref: kind}
	wireReason(m, reason)
	return m
}

// lateReason is the reason reported to a monitor or link set up on a process
// that has already exited: noproc, except that a handed-off process tells
// where it went.
func lateReason(p *Proc) Reason {
	if p != nil && p.exitReason.Kind == Handoff {
		return p.exitReason
	}
	return Reason{Kind: NoProc}
}

// monitor sets up a monitor held by w.
func (n *Node) monitor(w *Proc, dest Dest) Ref {
	ref := Ref(n.newRef())
	if dest == nil {
		dest = PID{}
	}
	node := n.destNode(dest)
	m := &monitor{watcher: w.pid, node: node}
	switch d := dest.(type) {
	case PID:
		m.target = d
	case Named:
		m.name = d.Name
	}
	if node == n.name {
		n.monitorLocal(w, ref, m, dest)
		return ref
	}
	named := m.name != ""
	m.sending = named
	n.relMu.Lock()
	ok := n.addMonitorLocked(w, ref, m)
	if ok {
		addTo(n.rel.monsTo, node, ref, struct{}{})
	}
	n.relMu.Unlock()
	if !ok {
		return ref
	}
	f := &transport.Message{Type: transport.FrameMonitor, From: wirePID(w.pid), Ref: uint64(ref)}
	setTarget(f, dest, node)
	via, err := n.sendNodeOn(n.ctx, node, f)
	if err != nil {
		n.fireDown(ref, PID{}, Reason{Kind: NoConnection})
		return ref
	}
	if named {
		n.monitorSent(ref, via)
	}
	return ref
}

// monitorSent binds name monitor ref to incarnation via of its node (0 if
// the transport does not say) and fires it if that connection was lost
// while the request was being sent.
func (n *Node) monitorSent(ref Ref, via uint32) {
	var b batch
	n.relMu.Lock()
	if m := n.rel.mons[ref]; m != nil && !m.fired && m.sending {
		if _, hit := m.settle(via, m.target.Creation); hit {
			n.fireLocked(&b, ref, PID{}, Reason{Kind: NoConnection})
		}
	}
	n.relMu.Unlock()
	b.flush(n, false)
}

func (n *Node) monitorLocal(w *Proc, ref Ref, m *monitor, dest Dest) {
	tp := n.resolveLocal(dest)
	var b batch
	n.relMu.Lock()
	if tp != nil {
		m.target = tp.pid
	}
	if !n.addMonitorLocked(w, ref, m) {
		n.relMu.Unlock()
		return
	}
	if tp == nil || tp.exited {
		m.fired = true
		b.down(m, ref, lateReason(tp))
	} else {
		addTo(n.rel.watchers, tp.pid.ID, monKey{n.name, ref}, w.pid)
	}
	n.relMu.Unlock()
	b.flush(n, false)
}

// addMonitorLocked records m unless its watcher has exited.
func (n *Node) addMonitorLocked(w *Proc, ref Ref, m *monitor) bool {
	if w.exited {
		return false
	}
	n.rel.mons[ref] = m
	addTo(n.rel.monsOf, w.pid.ID, ref, struct{}{})
	return true
}

// fireDown fires monitor ref (if still active) with reason; pid, if not
// zero, is the resolved target.
func (n *Node) fireDown(ref Ref, pid PID, reason Reason) {
	var b batch
	n.relMu.Lock()
	n.fireLocked(&b, ref, pid, reason)
	n.relMu.Unlock()
	b.flush(n, false)
}

func (n *Node) fireLocked(b *batch, ref Ref, pid PID, reason Reason) {
	m := n.rel.mons[ref]
	if m == nil || m.fired {
		return
	}
	m.fired = true
	if !pid.IsZero() {
		m.target = pid
	}
	if m.node == n.name {
		delFrom(n.rel.watchers, m.target.ID, monKey{n.name, ref})
	} else {
		delFrom(n.rel.monsTo, m.node, ref)
	}
	b.down(m, ref, reason)
}

// takeDown is called by the watcher when it dequeues a Down: true if the
// monitor fired and was not removed meanwhile (then it is removed now).
func (n *Node) takeDown(w *Proc, ref Ref) bool {
	n.relMu.Lock()
	defer n.relMu.Unlock()
	m := n.rel.mons[ref]
	if m == nil || !m.fired || m.watcher != w.pid {
		return false
	}
	delete(n.rel.mons, ref)
	delFrom(n.rel.monsOf, w.pid.ID, ref)
	return true
}

func (n *Node) demonitor(w *Proc, ref Ref) bool {
	n.relMu.Lock()
	m := n.rel.mons[ref]
	if m == nil || m.watcher != w.pid {
		n.relMu.Unlock()
		return false
	}
	delete(n.rel.mons, ref)
	delFrom(n.rel.monsOf, w.pid.ID, ref)
	active := !m.fired
	remote := active && m.node != n.name
	if active && !remote {
		delFrom(n.rel.watchers, m.target.ID, monKey{n.name, ref})
	} else if remote {
		delFrom(n.rel.monsTo, m.node, ref)
	}
	n.relMu.Unlock()
	if remote {
		_ = n.sendNode(n.ctx, m.node, demonitorFrame(m, ref))
	}
	return active
}

func demonitorFrame(m *monitor, ref Ref) *transport.Message {
	f := &transport.Message{Type: transport.FrameDemonitor, From: wirePID(m.watcher), Ref: uint64(ref)}
	if m.name != "" {
		f.To, f.ToName = transport.PID{Node: m.node}, m.name
	} else {
		f.To = wirePID(m.target)
	}
	return f
}

// link links local process p with target.
func (n *Node) link(p *Proc, target PID) error {
	switch {
	case target.IsZero():
		return fmt.Errorf("%w: link to the zero PID", ErrBadArg)
	case target == p.pid:
		return nil
	case target.Node == n.name:
		return n.linkLocal(p, target)
	}
	n.relMu.Lock()
	if p.exited {
		n.relMu.Unlock()
		return fmt.Errorf("%w: %s", ErrNoProc, p.pid)
	}
	addTo(n.rel.links, p.pid.ID, target, struct{}{})
	addTo(n.rel.linksTo, target.Node, linkKey{p.pid.ID, target}, struct{}{})
	n.relMu.Unlock()
	f := &transport.Message{Type: transport.FrameLink, From: wirePID(p.pid), To: wirePID(target)}
	if err := n.sendNode(n.ctx, target.Node, f); err != nil {
		n.breakLink(p.pid.ID, target, Reason{Kind: NoConnection})
	}
	return nil
}

func (n *Node) linkLocal(p *Proc, target PID) error {
	tp, _ := n.lookup(target)
	n.relMu.Lock()
	if p.exited {
		n.relMu.Unlock()
		return fmt.Errorf("%w: %s", ErrNoProc, p.pid)
	}
	if tp == nil || tp.exited {
		reason := lateReason(tp)
		n.relMu.Unlock()
		n.signal(p, target, reason, false)
		return nil
	}
	addTo(n.rel.links, p.pid.ID, target, struct{}{})
	addTo(n.rel.links, tp.pid.ID, p.pid, struct{}{})
	n.relMu.Unlock()
	return nil
}

// breakLink removes the link between local process id and remote, and
// gives the local process the exit signal, if the link still existed.
func (n *Node) breakLink(id uint64, remote PID, reason Reason) {
	n.relMu.Lock()
	_, ok := n.rel.links[id][remote]
	if ok {
		delFrom(n.rel.links, id, remote)
		delFrom(n.rel.linksTo, remote.Node, linkKey{id, remote})
	}
	n.relMu.Unlock()
	if !ok {
		return
	}
	if v, found := n.procs.Load(id); found {
		n.signal(v.(*Proc), remote, reason, false)
	}
}

func (n *Node) unlink(p *Proc, target PID) {
	n.relMu.Lock()
	delFrom(n.rel.links, p.pid.ID, target)
	remote := target.Node != n.name
	if remote {
		delFrom(n.rel.linksTo, target.Node, linkKey{p.pid.ID, target})
	} else {
		delFrom(n.rel.links, target.ID, p.pid)
	}
	n.relMu.Unlock()
	if remote {
		f := &transport.Message{Type: transport.FrameUnlink, From: wirePID(p.pid), To: wirePID(target)}
		_ = n.sendNode(n.ctx, target.Node, f)
	}
}

// signal delivers an exit signal to local process p. A trapping process
// (and any inbox) gets it as an Exit message in mailbox order; otherwise a
// normal (or handoff) reason is ignored and any other reason goes to the
// urgent lane, where it stops the process before its queued messages. A
// kill (explicit, reason Killed) cannot be trapped.
func (n *Node) signal(p *Proc, from PID, reason Reason, explicit bool) {
	kill := explicit && reason.Kind == Killed
	e := envelope{kind: envExit, from: from, sys: &sysInfo{reason: reason, link: !explicit, kill: kill}}
	switch {
	case p.inbox, !kill && p.trap.Load():
		p.mb.push(e, false)
	case !kill && reason.normalForLinks():
	default:
		p.mb.pushUrgent(e)
	}
}

// Exit sends an exit signal with reason to the process target, local or
// remote (exit/2): a process that traps exits gets an Exit message; one that
// does not ignores Normal and exits with any other reason; reason Killed
// kills it even if it traps exits. The sender is the node (zero-ID PID).
func (n *Node) Exit(target PID, reason Reason) error {
	return n.exitSignal(n.callerPID(), target, reason)
}

func (n *Node) exitSignal(from, target PID, reason Reason) error {
	if target.Node != n.name {
		return n.sendNode(n.ctx, target.Node, exitFrame(from, target, exitExplicit, reason))
	}
	if p, _ := n.lookup(target); p != nil {
		n.signal(p, from, reason, true)
	}
	return nil
}
