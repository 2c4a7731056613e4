package node

import (
	"context"
	"fmt"
)

// Inbox is a mailbox with a PID but no goroutine of its own, for Go code
// that is not a process (tests, the CLI, an HTTP handler) — like the Erlang
// shell. Others can send to it, call it, monitor it and link to it; it
// receives with Receive. Exit signals always arrive as Exit messages (an
// inbox never dies of one). Its methods are safe for concurrent use.
type Inbox struct{ p *Proc }

// NewInbox creates an inbox on the node (ErrShutdown once shutdown began).
func (n *Node) NewInbox() (*Inbox, error) {
	p := n.newProc("", nil, true)
	if !n.addProc(p, nil) {
		return nil, fmt.Errorf("%w: %s", ErrShutdown, n.name)
	}
	return &Inbox{p: p}, nil
}

// Self returns the inbox's PID.
func (ib *Inbox) Self() PID { return ib.p.pid }

// Node returns the inbox's node.
func (ib *Inbox) Node() *Node { return ib.p.n }

// Codec returns the node's codec.
func (ib *Inbox) Codec() Codec { return ib.p.n.cfg.Codec }

// Receive waits for the next message: a Message, a Call (answer it with
// Call.Reply), a Down, an Exit, a NodeUp or a NodeDown. It fails with
// ErrTimeout when ctx ends and ErrClosed once the inbox is closed.
func (ib *Inbox) Receive(ctx context.Context) (Msg, error) {
	p := ib.p
	for {
		if e, ok := p.mb.pop(false); ok {
			if m := ib.toMsg(e); m != nil {
				return m, nil
			}
			continue
		}
		if p.hasExited() {
			return nil, fmt.Errorf("%w: %s", ErrClosed, p.pid)
		}
		select {
		case <-p.mb.notify:
		case <-ctx.Done():
			return nil, timeoutErr(ctx, "receive")
		}
	}
}

// toMsg converts an envelope; nil for one that is not delivered (a Down
// already demonitored, an expired call, a control envelope).
func (ib *Inbox) toMsg(e envelope) Msg {
	p := ib.p
	switch e.kind {
	case envMsg:
		return Message{From: e.from, Payload: e.payload}
	case envCall:
		from, ref := e.from, e.ref
		return Call{From: from, Payload: e.payload, reply: once(func(resp []byte, err error) {
			p.n.reply(p.pid, from, ref, resp, err)
		})}
	case envDown:
		if p.n.takeDown(p, Ref(e.ref)) {
			return downMsg(e)
		}
	case envExit:
		return Exit{From: e.from, Reason: e.sys.reason}
	case envNodeUp:
		return NodeUp{Node: e.sys.name, Hidden: e.sys.hidden}
	case envNodeDown:
		return NodeDown{Node: e.sys.name, Hidden: e.sys.hidden, Reason: e.sys.err}
	}
	return nil
}

// Send sends payload to dest with the inbox as the sender.
func (ib *Inbox) Send(dest Dest, payload []byte) error { return ib.p.n.send(ib.p.pid, dest, payload) }

// Call calls dest with the inbox as the caller (see Node.Call). A call to
// the inbox itself fails with ErrCallSelf.
func (ib *Inbox) Call(ctx context.Context, dest Dest, req []byte) ([]byte, error) {
	return ib.p.Call(ctx, dest, req)
}

// Monitor monitors dest; the Down arrives through Receive.
func (ib *Inbox) Monitor(dest Dest) Ref { return ib.p.n.monitor(ib.p, dest) }

// Demonitor removes a monitor (see Proc.Demonitor).
func (ib *Inbox) Demonitor(ref Ref) bool { return ib.p.n.demonitor(ib.p, ref) }

// Link links the inbox with pid; exit signals arrive as Exit messages.
func (ib *Inbox) Link(pid PID) error { return ib.p.n.link(ib.p, pid) }

// Unlink removes a link.
func (ib *Inbox) Unlink(pid PID) { ib.p.n.unlink(ib.p, pid) }

// Register registers the inbox under name.
func (ib *Inbox) Register(name string) error { return ib.p.n.register(name, ib.p) }

// MonitorNode: one NodeDown when node disconnects (see Proc.MonitorNode).
func (ib *Inbox) MonitorNode(ctx context.Context, node string) {
	ib.p.n.monitorNode(ctx, ib.p, node)
}

// MonitorNodes subscribes the inbox to NodeUp/NodeDown (see
// Proc.MonitorNodes).
func (ib *Inbox) MonitorNodes(on, hidden bool) { ib.p.n.monitorNodes(ib.p, on, hidden) }

// Len is the number of queued messages.
func (ib *Inbox) Len() int { return ib.p.mb.length() }

// Close closes the inbox: it exits with reason Normal (monitors get Down
// normal; links get the signal), pending calls to it fail with ErrNoProc and
// Receive returns ErrClosed. Idempotent.
func (ib *Inbox) Close() { ib.p.closeInbox(Reason{Kind: Normal}) }

// closeInbox ends an inbox with reason (once).
func (p *Proc) closeInbox(reason Reason) {
	p.n.relMu.Lock()
	done := p.exited
	p.n.relMu.Unlock()
	if !done {
		p.closeOnce.Do(func() { p.n.exitProc(p, reason) })
	}
	p.mb.wake()
}
