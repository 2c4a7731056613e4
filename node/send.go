package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/placerhq/placer/transport"
)

// Send sends payload to dest (a PID or a Named, local or remote) from
// outside any process: the receiver sees a zero From. Delivery is
// at-most-once and ordered per sender and receiver, as in Erlang: a message
// to a dead process or an unknown name is dropped silently, and one to a
// full mailbox is dropped and counted (Stats.MailboxDrops). Send returns an
// error only when the message could not be handed to the local mailbox or
// the transport: ErrNoConnection (the node is unreachable), ErrShutdown,
// ErrBadArg. It does not block on a mailbox; a remote send waits for room
// in the transport's outbound queue (back-pressure) until the connection
// dies or the node shuts down.
func (n *Node) Send(dest Dest, payload []byte) error { return n.send(PID{}, dest, payload) }

// SendFrom is Send with an explicit sender PID, for services and routers
// that send on a process's behalf (the receiver sees From = from).
func (n *Node) SendFrom(from PID, dest Dest, payload []byte) error {
	return n.send(from, dest, payload)
}

func (n *Node) send(from PID, dest Dest, payload []byte) error {
	switch d := dest.(type) {
	case PID:
		if d.Node == n.name {
			n.deliverMsg(from, d, payload)
			return nil
		}
		return n.sendNode(n.ctx, d.Node, &transport.Message{
			Type: transport.FrameSend, From: wirePID(from), To: wirePID(d), Payload: payload,
		})
	case Named:
		if d.Node == "" || d.Node == n.name {
			n.deliverNamed(from, d.Name, payload)
			return nil
		}
		return n.sendNode(n.ctx, d.Node, &transport.Message{
			Type: transport.FrameRegSend, From: wirePID(from),
			To: transport.PID{Node: d.Node}, ToName: d.Name, Payload: payload,
		})
	}
	return fmt.Errorf("%w: no destination", ErrBadArg)
}

// sendNode hands a frame to the transport and maps its errors.
func (n *Node) sendNode(ctx context.Context, node string, m *transport.Message) error {
	_, err := n.sendNodeOn(ctx, node, m)
	return err
}

// sendNodeOn is sendNode that also returns the creation of the peer
// incarnation whose connection took m (0 if the transport does not say).
func (n *Node) sendNodeOn(ctx context.Context, node string, m *transport.Message) (uint32, error) {
	if node == "" {
		return 0, fmt.Errorf("%w: empty node name", ErrBadArg)
	}
	via, err := n.trc.SendCreation(ctx, node, m)
	switch {
	case err == nil:
		return via, nil
	case errors.Is(err, transport.ErrShutdown):
		return 0, fmt.Errorf("%w: %w", ErrShutdown, err)
	case errors.Is(err, transport.ErrFrameTooLarge):
		return 0, fmt.Errorf("%w: to %s: %w", ErrTooLarge, node, err)
	case ctx.Err() != nil && !errors.Is(err, transport.ErrNoConnection):
		return 0, fmt.Errorf("%w: sending to %s: %w", ErrTimeout, node, err)
	}
	return 0, fmt.Errorf("%w: %s: %w", ErrNoConnection, node, err)
}

// sendBounded is sendNode with Config.SendTimeout, for sends the node makes
// from a transport callback, which must not wait long.
func (n *Node) sendBounded(node string, m *transport.Message) error {
	ctx, cancel := context.WithTimeout(n.ctx, n.cfg.SendTimeout)
	defer cancel()
	err := n.sendNode(ctx, node, m)
	if err != nil {
		n.log.Debug().Str("peer", node).Err(err).Msg("send from callback failed")
	}
	return err
}

// deliverMsg puts a user message in a local mailbox.
func (n *Node) deliverMsg(from, to PID, payload []byte) {
	p, stale := n.lookup(to)
	if p == nil {
		n.countMiss(stale)
		return
	}
	n.push(p, envelope{kind: envMsg, from: from, payload: payload}, true)
}

func (n *Node) countMiss(stale bool) {
	if stale {
		n.stats.staleDrops.Add(1)
	} else {
		n.stats.noProcDrops.Add(1)
	}
}

// deliverNamed delivers to a local registered process, or casts to a
// service of that name.
func (n *Node) deliverNamed(from PID, name string, payload []byte) {
	if p := n.whereisProc(name); p != nil {
		n.push(p, envelope{kind: envMsg, from: from, payload: payload}, true)
		return
	}
	if s := n.service(name); s != nil {
		n.castService(name, s, from, payload)
		return
	}
	n.stats.noProcDrops.Add(1)
}

// push puts e in p's mailbox, counting drops and forwarding for a
// handed-off process.
func (n *Node) push(p *Proc, e envelope, bounded bool) pushResult {
	r := p.mb.push(e, bounded)
	switch r {
	case pushFull:
		n.stats.mailboxDrops.Add(1)
	case pushForward:
		// The target is read before fwdMu (it never changes once set):
		// mailbox.mu is never taken under fwdMu (see the lock order on Node).
		to := p.mb.forwardTarget()
		p.mb.fwdMu.Lock()
		n.forwardEnv(to, e)
		p.mb.fwdMu.Unlock()
	case pushClosed:
		if e.kind == envMsg {
			n.stats.noProcDrops.Add(1)
		}
	}
	return r
}

// pushSys puts a notification (never counted against the bound) in the
// mailbox of the local process pid, if it is alive.
func (n *Node) pushSys(pid PID, e envelope) {
	if p, _ := n.lookup(pid); p != nil {
		p.mb.push(e, false)
	}
}

// Call sends req to dest from outside any process and waits for the reply
// (ctx without a deadline gets Config.CallTimeout). It fails fast with
// ErrNoProc (dead or unknown target), ErrNoConnection (node unreachable, or
// the connection died while waiting), ErrMailboxFull, ErrTimeout, or the
// handler's error wrapped in ErrHandler.
func (n *Node) Call(ctx context.Context, dest Dest, req []byte) ([]byte, error) {
	return n.call(ctx, n.callerPID(), dest, req)
}

func (n *Node) call(ctx context.Context, from PID, dest Dest, req []byte) ([]byte, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	deadline := n.deadline(ctx)
	pc, err := n.startCall(ctx, deadline, from, dest, req, nil)
	if err != nil {
		return nil, err
	}
	out, err := n.calls.wait(ctx, deadline, pc)
	if errors.Is(err, ErrTimeout) {
		err = fmt.Errorf("call %s: %w", dest, err)
	}
	return out, err
}

// deadline is ctx's deadline, or Config.CallTimeout from now.
func (n *Node) deadline(ctx context.Context) time.Time {
	if d, ok := ctx.Deadline(); ok {
		return d
	}
	return time.Now().Add(n.cfg.CallTimeout)
}

// CallAsync calls dest (from outside any process) without waiting: reply
// is called exactly once, with the answer or the error Call would return
// (ErrTimeout at deadline; zero deadline = Config.CallTimeout), on
// whichever goroutine learns it — the transport reader that got the reply,
// a timer, or this one for an immediate failure. It lets a Service route a
// call onward without a goroutine per call; reply must not block.
func (n *Node) CallAsync(dest Dest, req []byte, deadline time.Time, reply ReplyFunc) {
	if deadline.IsZero() {
		deadline = time.Now().Add(n.cfg.CallTimeout)
	}
	ctx, cancel := context.WithDeadline(n.ctx, deadline)
	defer cancel()
	cb := func(r callResult) { reply(r.payload, r.err) }
	if _, err := n.startCall(ctx, deadline, n.callerPID(), dest, req, cb); err != nil {
		reply(nil, err)
	}
}

// startCall registers a pending call (answered through cb if not nil) and
// sends the request.
func (n *Node) startCall(ctx context.Context, deadline time.Time, from PID, dest Dest, req []byte, cb func(callResult)) (*pendingCall, error) {
	if dest == nil {
		return nil, fmt.Errorf("%w: no destination", ErrBadArg)
	}
	ref := n.newRef()
	node := n.destNode(dest)
	if node == n.name {
		pc := n.calls.addFor(ref, "", 0, deadline, cb)
		if err := n.callLocal(from, ref, dest, req, deadline); err != nil && n.calls.cancel(ref) {
			return nil, err
		}
		return pc, nil
	}
	var creation uint32
	if d, ok := dest.(PID); ok {
		creation = d.Creation
	}
	pc := n.calls.addFor(ref, node, creation, deadline, cb)
	m := &transport.Message{
		Type: transport.FrameCall, From: wirePID(from), Ref: ref,
		TTL: max(time.Until(deadline), time.Nanosecond), Payload: req,
	}
	setTarget(m, dest, node)
	// A connection lost while the request is being sent does not answer
	// it (callTable.failNode keeps it): a failed send is answered by its
	// own error (the request never left), a successful one by the loss.
	// Only the deadline's timer may have answered it meanwhile; then that
	// is the call's one result (cancel finds the call gone).
	via, err := n.sendNodeOn(ctx, node, m)
	if err != nil {
		if n.calls.cancel(ref) {
			return nil, err
		}
		return pc, nil
	}
	n.calls.sent(ref, via)
	return pc, nil
}

// setTarget fills a frame's To or ToName from dest.
func setTarget(m *transport.Message, dest Dest, node string) {
	switch d := dest.(type) {
	case PID:
		m.To = wirePID(d)
	case Named:
		m.To, m.ToName = transport.PID{Node: node}, d.Name
	}
}

// callLocal delivers a call to a local process or service; the reply goes
// to from (a local or remote caller) with ref.
func (n *Node) callLocal(from PID, ref uint64, dest Dest, req []byte, deadline time.Time) error {
	if d, ok := dest.(Named); ok && n.whereisProc(d.Name) == nil {
		if s := n.service(d.Name); s != nil {
			n.callService(d.Name, s, from, ref, req, deadline)
			return nil
		}
	}
	p := n.resolveLocal(dest)
	if p == nil {
		if d, ok := dest.(PID); ok {
			_, stale := n.lookup(d)
			n.countMiss(stale)
		}
		return fmt.Errorf("%w: %s", ErrNoProc, dest)
	}
	e := envelope{kind: envCall, from: from, payload: req, ref: ref, deadline: deadlineOf(deadline)}
	switch n.push(p, e, true) {
	case pushFull:
		return fmt.Errorf("%w: %s", ErrMailboxFull, dest)
	case pushClosed:
		return fmt.Errorf("%w: %s", ErrNoProc, dest)
	}
	return nil
}

// reply answers the call ref of caller to on behalf of from (the replying
// process, or zero), so that the reply stays ordered after from's earlier
// messages to the caller. Errors that wrap one of this package's sentinels
// keep it; any other error becomes ErrHandler.
func (n *Node) reply(from, to PID, ref uint64, resp []byte, err error) {
	if to.Node == n.name {
		n.calls.complete(ref, resp, localErr(err))
		return
	}
	st, text := statusOf(err)
	m := &transport.Message{
		Type: transport.FrameReply, From: wirePID(from), To: wirePID(to), Ref: ref,
		Status: st, Reason: text, Payload: resp,
	}
	e := n.sendNode(n.ctx, to.Node, m)
	if errors.Is(e, ErrTooLarge) {
		// The caller would only time out: tell it why instead.
		m.Status, m.Reason = statusOf(fmt.Errorf("reply %w", e))
		m.Payload = nil
		e = n.sendNode(n.ctx, to.Node, m)
	}
	if e != nil {
		n.log.Debug().Str("to", to.String()).Err(e).Msg("reply not sent")
	}
}

// localErr gives a local handler error the same identity it would have
// after crossing the wire.
func localErr(err error) error {
	if err == nil {
		return nil
	}
	if st, _ := statusOf(err); st != stHandler || errors.Is(err, ErrHandler) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrHandler, err)
}

// forwardEnv passes an envelope that reached a handed-off process on to its
// new PID, keeping the original sender (and, for a call, the caller's ref,
// so the new process answers the caller directly).
func (n *Node) forwardEnv(to PID, e envelope) {
	switch e.kind {
	case envMsg:
		n.stats.forwarded.Add(1)
		_ = n.send(e.from, to, e.payload)
	case envCall:
		n.stats.forwarded.Add(1)
		n.forwardCall(to, e)
	case envFreeze:
		e.sys.freeze.deliver(nil, false, fmt.Errorf("%w: process was handed off", ErrNoProc))
	case envHandoff:
		e.sys.handoff.err = fmt.Errorf("%w: process was handed off already", ErrNoProc)
		close(e.sys.handoff.done)
	}
}

func (n *Node) forwardCall(to PID, e envelope) {
	var deadline time.Time
	if e.deadline != 0 {
		deadline = time.Unix(0, e.deadline)
	}
	if to.Node == n.name {
		if err := n.callLocal(e.from, e.ref, to, e.payload, deadline); err != nil {
			n.reply(PID{}, e.from, e.ref, nil, err)
		}
		return
	}
	m := &transport.Message{
		Type: transport.FrameCall, From: wirePID(e.from), To: wirePID(to), Ref: e.ref, Payload: e.payload,
	}
	if !deadline.IsZero() {
		m.TTL = max(time.Until(deadline), time.Nanosecond)
	}
	if err := n.sendBounded(to.Node, m); err != nil {
		n.reply(PID{}, e.from, e.ref, nil, err)
	}
}
