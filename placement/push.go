package placement

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/placerhq/placer/node"
)

// Push: the old owner P hands a key to its new owner N.
//
//  1. P marks the entry moving (the router buffers new requests for it)
//     and freezes the process (node.Freeze exports its state after
//     everything already in its mailbox was handled).
//  2. P calls N's accept with the state. N starts the process from it
//     (entry importing: N buffers what arrives directly) and answers its
//     new PID; or "not yet" (N's view does not make it the owner: P retries
//     until HandoffTimeout, then thaws the process); or "conflict" (N
//     already runs the key: heal, see accept.go).
//  3. P hands the process off (node.HandoffTo: its mailbox goes to the new
//     PID in order, monitors get DOWN handoff), removes the entry, forwards
//     its buffer to N (flagHandoff: N delivers those at once) and calls N's
//     finish: N delivers what it buffered, then serves the key directly.
//
// Every frame P sends N here carries P's own identity as From, so the
// transport delivers them in this order.

// pushQueue holds the keys waiting for a push worker, without duplicates.
type pushQueue struct {
	mu     sync.Mutex // guards keys and set
	keys   []keyID
	set    map[keyID]struct{}
	signal chan struct{} // capacity 1: keys were added
}

func newPushQueue() *pushQueue {
	return &pushQueue{set: map[keyID]struct{}{}, signal: make(chan struct{}, 1)}
}

// add queues id unless it is queued already.
func (q *pushQueue) add(id keyID) {
	q.mu.Lock()
	if _, dup := q.set[id]; !dup {
		q.set[id] = struct{}{}
		q.keys = append(q.keys, id)
	}
	q.mu.Unlock()
	q.wake()
}

func (q *pushQueue) wake() {
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

// take returns the next key, waiting until there is one; false once ctx
// has ended, even if keys are still queued.
func (q *pushQueue) take(ctx context.Context) (keyID, bool) {
	for {
		if ctx.Err() != nil {
			return keyID{}, false
		}
		q.mu.Lock()
		if len(q.keys) > 0 {
			id := q.keys[0]
			q.keys = q.keys[1:]
			delete(q.set, id)
			more := len(q.keys) > 0
			q.mu.Unlock()
			if more {
				q.wake() // let another worker take the next one
			}
			return id, true
		}
		q.mu.Unlock()
		select {
		case <-q.signal:
		case <-ctx.Done():
			return keyID{}, false
		}
	}
}

// len is the number of queued keys.
func (q *pushQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.keys)
}

// pushWorker pushes queued keys until shutdown; MigrationBudget of them
// run, which bounds the handoffs in flight.
func (c *Cluster) pushWorker() {
	for {
		id, ok := c.queue.take(c.ctx)
		if !ok {
			return
		}
		c.stats.pushing.Add(1)
		c.push(id)
		c.stats.pushing.Add(-1)
	}
}

// push hands the key id to its owner in the current view, if it is hosted
// and active here and someone else owns it.
func (c *Cluster) push(id keyID) {
	e := c.reg.get(id)
	target := c.snap.Load().owner(id.Key)
	if e == nil || target == "" || target == c.self {
		return
	}
	e.mu.Lock()
	if e.state != stateActive && e.state != stateCold {
		e.mu.Unlock()
		return
	}
	cold, state := e.state == stateCold, e.cold
	e.state, e.since = stateMoving, time.Now()
	pid := e.pid
	e.mu.Unlock()
	c.stats.hoStarted.Add(1)
	c.emit(Event{Type: EventHandoffStarted, Kind: id.Kind, Key: id.Key, From: c.self, To: target})
	ctx, cancel := context.WithTimeout(c.ctx, c.cfg.HandoffTimeout)
	defer cancel()
	if cold {
		c.pushCold(ctx, e, target, state)
		return
	}
	state, exported, err := c.node.Freeze(ctx, pid)
	if err != nil {
		c.abortMove(e, pid, false, target, err)
		return
	}
	res, err := c.offer(ctx, e, target, state, exported)
	if err != nil {
		c.abortMove(e, pid, true, res.target, err)
		return
	}
	// The new owner runs the key now: finish with a fresh deadline even if
	// the offer used most of the first.
	fctx, fcancel := context.WithTimeout(c.ctx, c.cfg.HandoffTimeout)
	defer fcancel()
	if err := c.node.HandoffTo(fctx, pid, res.pid); err != nil {
		c.warnKey("handoff-failed", "handoff of the frozen process failed; its state is on the new owner", id, res.target, err)
	}
	c.finishMove(fctx, e, pid, res)
}

// offerResult is the new owner's answer to accept.
type offerResult struct {
	target   string
	pid      node.PID // the new process (or, for a conflict, the winner's)
	conflict bool
}

// errAbort: the key became ours again while we offered it.
var errAbort = errors.New("placement: the key is owned here again")

// offer calls accept on the key's owner until it takes the process,
// answers conflict, or ctx ends. The target follows the current view.
func (c *Cluster) offer(ctx context.Context, e *entry, target string, state []byte, exported bool) (offerResult, error) {
	backoff := 2 * time.Millisecond
	var term, seq uint64
	if rep := e.replState(); rep != nil {
		r := rep.snapshot()
		term, seq = r.term, r.seq
	}
	for {
		msg := handoffMsg{op: hoAccept, exported: exported, checksum: c.snap.Load().view.Checksum,
			kind: e.id.Kind, key: e.id.Key, state: state, term: term, seq: seq}
		resp, err := c.node.Call(ctx, node.Named{Name: handoffService, Node: target}, msg.encode())
		res := offerResult{target: target}
		if err == nil && len(resp) > 0 {
			switch resp[0] {
			case hsOK, hsConflict:
				res.pid, err = decodePID(resp[1:])
				res.conflict = resp[0] == hsConflict
				return res, err
			case hsFailed:
				return res, fmt.Errorf("%w: %s", ErrStart, resp[1:])
			}
		}
		if ctx.Err() != nil {
			return res, fmt.Errorf("%w: %s did not take the key in time: %w", ErrBusy, target, ctx.Err())
		}
		if !c.sleep(backoff) {
			return res, ErrShutdown
		}
		backoff = min(2*backoff, 50*time.Millisecond)
		if target = c.snap.Load().owner(e.id.Key); target == c.self || target == "" {
			return res, errAbort
		}
	}
}

// abortMove gives up a push: the process resumes (if frozen) and what was
// buffered meanwhile is delivered to it. If the process died, the entry is
// removed and its buffer routed afresh.
func (c *Cluster) abortMove(e *entry, pid node.PID, frozen bool, target string, err error) {
	if errors.Is(err, node.ErrNoProc) {
		c.reroute(e, func(entryState, node.PID) bool { return true })
		return
	}
	if frozen {
		if terr := c.node.Thaw(pid); terr != nil {
			c.warnKey("thaw-failed", "thaw after a failed handoff", e.id, "", terr)
		}
	}
	if !errors.Is(err, errAbort) {
		e.mu.Lock()
		e.failedAt = time.Now()
		e.mu.Unlock()
	}
	c.activate(e, stateMoving)
	// A push given up because the key is ours again (its new owner went
	// away) ends too: counted as failed, so that started = finished +
	// failed + in flight always holds.
	c.stats.hoFailed.Add(1)
	c.log.Debug().Str("key", e.id.Key).Str("to", target).Err(err).Msg("handoff failed; retrying at the next reconcile")
	c.emit(Event{Type: EventHandoffFailed, Kind: e.id.Kind, Key: e.id.Key, From: c.self, To: target, Err: err})
}

// finishMove ends a push whose process now lives at res.pid: it removes
// the entry, forwards its buffer and tells the new owner it is done.
func (c *Cluster) finishMove(ctx context.Context, e *entry, pid node.PID, res offerResult) {
	e.mu.Lock()
	buf := e.buf
	e.buf, e.state = nil, stateGone
	e.mu.Unlock()
	c.reg.remove(e, pid)
	for _, p := range buf {
		p.req.flags |= flagHandoff
		c.sendTo(res.target, p.req, p.deadline, p.reply)
	}
	msg := handoffMsg{op: hoFinish, checksum: c.snap.Load().view.Checksum, kind: e.id.Kind, key: e.id.Key}
	if _, err := c.node.Call(ctx, node.Named{Name: handoffService, Node: res.target}, msg.encode()); err != nil {
		c.warnKey("finish-unacked", "handoff finish not acknowledged", e.id, res.target, err)
	}
	if res.conflict {
		c.stats.conflictsLost.Add(1)
	}
	c.stats.hoFinished.Add(1)
	c.emit(Event{Type: EventHandoffFinished, Kind: e.id.Kind, Key: e.id.Key, From: c.self, To: res.target})
}

// pushCold hands a passivated key (no process: its kept state) to its
// owner; if that fails it stays cold here (or starts again, if requests
// came meanwhile).
func (c *Cluster) pushCold(ctx context.Context, e *entry, target string, state []byte) {
	res, err := c.offer(ctx, e, target, state, true)
	if err == nil {
		c.finishMove(ctx, e, node.PID{}, res)
		return
	}
	e.mu.Lock()
	e.state, e.cold = stateCold, state
	if !errors.Is(err, errAbort) {
		e.failedAt = time.Now()
	}
	var wake []byte
	woke := len(e.buf) > 0
	if woke {
		wake = e.wakeLocked()
	}
	e.mu.Unlock()
	if woke {
		c.reactivate(e, wake)
	}
	if !errors.Is(err, errAbort) {
		c.stats.hoFailed.Add(1)
		c.emit(Event{Type: EventHandoffFailed, Kind: e.id.Kind, Key: e.id.Key, From: c.self, To: target, Err: err})
	}
}
