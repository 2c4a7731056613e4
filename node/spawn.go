package node

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	"github.com/placerhq/placer/transport"
)

// SpawnOpts are the options of a spawn.
type SpawnOpts struct {
	// Name registers the new process under this name before Init runs (so
	// messages to the name queue up); the spawn fails with ErrNameTaken if
	// the name is in use. Default "" (no name).
	Name string
	// State and HasState start the process from handed-off state: Init runs
	// first, then the kind's ImportState(State). A kind that does not
	// implement StateImporter fails the spawn with ErrInit.
	State    []byte
	HasState bool
	// LinkTo links the new process to this PID after Init, before it
	// handles anything (spawn_link). Default zero (no link).
	LinkTo PID
}

// Spawn starts a process of a registered kind on this node and returns its
// PID once Init has succeeded (ErrInit if it failed, ErrUnknownKind,
// ErrNameTaken, ErrShutdown). If ctx ends first it returns ErrTimeout and the
// process, should its Init still succeed, exits at once.
func (n *Node) Spawn(ctx context.Context, kind string, args []byte, opts SpawnOpts) (PID, error) {
	ctx, cancel := n.withDefaultTimeout(ctx)
	defer cancel()
	w := &spawnWait{ch: make(chan callResult, 1)}
	var pid PID
	report := func(p PID, err error) bool {
		pid = p
		return w.deliver(err)
	}
	if err := n.startProc(kind, args, opts, report); err != nil {
		return PID{}, err
	}
	select {
	case r := <-w.ch:
		return pid, r.err
	case <-ctx.Done():
		if !w.giveUp() {
			r := <-w.ch
			return pid, r.err
		}
		return PID{}, timeoutErr(ctx, "spawn "+kind)
	}
}

// SpawnAsync starts a process of a registered kind without waiting for
// its Init: started runs on the new process's own goroutine once Init (and
// ImportState) ended, with the PID, or with the error (ErrInit) after the
// process exited. started runs before the process handles anything, so
// what it sends or calls to the PID is in its mailbox first; it must not
// wait for the process. If started returns false the process exits at once
// (its spawner gave up). SpawnAsync itself fails at once, without calling
// started, with ErrUnknownKind, ErrNameTaken or ErrShutdown.
func (n *Node) SpawnAsync(kind string, args []byte, opts SpawnOpts, started func(PID, error) bool) error {
	return n.startProc(kind, args, opts, started)
}

// spawnWait is the handshake between Spawn and the new process.
type spawnWait struct {
	mu     sync.Mutex
	gaveUp bool
	done   bool
	ch     chan callResult
}

func (w *spawnWait) deliver(err error) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.gaveUp {
		return false
	}
	w.done = true
	w.ch <- callResult{err: err}
	return true
}

func (w *spawnWait) giveUp() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return false
	}
	w.gaveUp = true
	return true
}

// startProc creates a process and starts its goroutine, which runs Init and
// then calls report (false from report means the spawner is gone and the
// process must exit).
func (n *Node) startProc(kind string, args []byte, opts SpawnOpts, report func(PID, error) bool) error {
	f, err := n.kindFactory(kind)
	if err != nil {
		return err
	}
	beh, err := makeBehavior(f)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrInit, kind, err)
	}
	p := n.newProc(kind, beh, false)
	if opts.Name != "" {
		if err := n.register(opts.Name, p); err != nil {
			return err
		}
	}
	if !n.addProc(p, func() { p.run(args, opts, report) }) {
		n.unregisterProc(p)
		return fmt.Errorf("%w: %s", ErrShutdown, n.name)
	}
	return nil
}

// addProc enters p in the process table and, for a goroutine-backed
// process, starts run on its tracked goroutine (nil for an inbox), unless
// the node is shutting down. Both happen under lifeMu, so stopAll sees
// every process that Shutdown waits for.
func (n *Node) addProc(p *Proc, run func()) bool {
	n.lifeMu.Lock()
	defer n.lifeMu.Unlock()
	if n.closing {
		return false
	}
	n.procs.Store(p.pid.ID, p)
	n.nproc.Add(1)
	if run != nil {
		n.procGo.Go(run)
	}
	return true
}

func makeBehavior(f KindFactory) (b Behavior, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("factory panic: %v", v)
		}
	}()
	if b = f(); b == nil {
		return nil, fmt.Errorf("factory returned nil")
	}
	return b, nil
}

// SpawnOn starts a process of kind on node (Node.spawn/4): remotely through
// a spawn request, or locally if node is this node. The remote node must
// have the kind in its table (ErrUnknownKind otherwise). Errors: those of
// Spawn, plus ErrNoConnection.
func (n *Node) SpawnOn(ctx context.Context, node, kind string, args []byte, opts SpawnOpts) (PID, error) {
	if node == n.name || node == "" {
		return n.Spawn(ctx, kind, args, opts)
	}
	if ctx == nil {
		ctx = context.Background()
	}
	deadline := n.deadline(ctx)
	ref := n.newRef()
	pc := n.calls.add(ref, node, 0)
	m := &transport.Message{
		Type: transport.FrameSpawnRequest, From: wirePID(n.callerPID()), To: transport.PID{Node: node},
		ToName: kind, Ref: ref, TTL: max(time.Until(deadline), time.Nanosecond),
		Payload: encodeSpawn(args, opts),
	}
	via, err := n.sendNodeOn(ctx, node, m)
	if err != nil {
		n.calls.cancel(ref)
		return PID{}, err
	}
	n.calls.sent(ref, via)
	out, err := n.calls.wait(ctx, deadline, pc)
	if err != nil {
		return PID{}, fmt.Errorf("spawn %s on %s: %w", kind, node, err)
	}
	return decodePID(out)
}

// onSpawnRequest serves a remote spawn; the reply is sent by the new
// process's goroutine after Init (or at once on failure).
func (n *Node) onSpawnRequest(m *transport.Message) {
	from, ref := fromWire(m.From), m.Ref
	var deadline time.Time
	if m.TTL > 0 {
		deadline = time.Now().Add(m.TTL)
	}
	args, opts, err := decodeSpawn(m.Payload)
	if err == nil {
		err = n.startProc(m.ToName, args, opts, func(pid PID, err error) bool {
			if err == nil && !deadline.IsZero() && time.Now().After(deadline) {
				return false
			}
			n.replySpawn(from, ref, pid, err, false)
			return true
		})
	}
	if err != nil {
		n.replySpawn(from, ref, PID{}, err, true)
	}
}

func (n *Node) replySpawn(to PID, ref uint64, pid PID, err error, fromCallback bool) {
	st, text := statusOf(err)
	m := &transport.Message{Type: transport.FrameSpawnReply, To: wirePID(to), Ref: ref, Status: st, Reason: text}
	if err == nil {
		m.Payload = appendPID(nil, pid)
	}
	if fromCallback {
		_ = n.sendBounded(to.Node, m)
	} else {
		_ = n.sendNode(n.ctx, to.Node, m)
	}
}

// Spawn request payload (the kind travels in ToName):
//
//	u8 version (1) | u8 flags (1 = state, 2 = link) | uvarint len, name |
//	uvarint len, args | [uvarint len, state] | [pid LinkTo]
const (
	spawnVersion   = 1
	spawnFlagState = 1
	spawnFlagLink  = 2
)

func encodeSpawn(args []byte, opts SpawnOpts) []byte {
	var flags byte
	if opts.HasState {
		flags |= spawnFlagState
	}
	if !opts.LinkTo.IsZero() {
		flags |= spawnFlagLink
	}
	b := []byte{spawnVersion, flags}
	b = appendBytes(b, []byte(opts.Name))
	b = appendBytes(b, args)
	if opts.HasState {
		b = appendBytes(b, opts.State)
	}
	if !opts.LinkTo.IsZero() {
		b = appendPID(b, opts.LinkTo)
	}
	return b
}

func decodeSpawn(b []byte) (args []byte, opts SpawnOpts, err error) {
	if len(b) < 2 || b[0] != spawnVersion {
		return nil, opts, fmt.Errorf("%w: bad spawn request", ErrBadArg)
	}
	flags, b := b[1], b[2:]
	var name []byte
	if name, b, err = readBytes(b); err != nil {
		return nil, opts, err
	}
	opts.Name = string(name)
	if args, b, err = readBytes(b); err != nil {
		return nil, opts, err
	}
	if flags&spawnFlagState != 0 {
		opts.HasState = true
		if opts.State, b, err = readBytes(b); err != nil {
			return nil, opts, err
		}
	}
	if flags&spawnFlagLink != 0 {
		if opts.LinkTo, b, err = readPID(b); err != nil {
			return nil, opts, err
		}
	}
	if len(b) != 0 {
		return nil, opts, fmt.Errorf("%w: trailing bytes in spawn request", ErrBadArg)
	}
	return args, opts, nil
}

func appendBytes(b, v []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

func readBytes(b []byte) (v, rest []byte, err error) {
	l, k := binary.Uvarint(b)
	if k <= 0 || l > uint64(len(b)-k) {
		return nil, nil, fmt.Errorf("%w: bad length", ErrBadArg)
	}
	return b[k : k+int(l)], b[k+int(l):], nil
}
