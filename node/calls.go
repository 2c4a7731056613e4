package node

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// callResult is a reply: payload or error.
type callResult struct {
	payload []byte
	err     error
}

// pendingCall is a call, spawn or rpc awaiting its reply. Whoever removes
// it from the table delivers its one result: into ch for a waiting caller,
// or by calling cb for an asynchronous one (CallAsync).
type pendingCall struct {
	ref      uint64
	node     string          // remote node the request went to; "" if local
	creation uint32          // the target's creation if known (a PID), else 0
	ch       chan callResult // capacity 1 (waiting caller)
	cb       func(callResult)
	timer    *time.Timer // cb's deadline
	// binding: while the request is still being handed to the transport
	// (remote calls), a connection lost meanwhile is kept, not answered:
	// if the send fails, its error (the request never left) is the answer;
	// if it succeeds, sent answers the loss of the connection it went out
	// on, if that was one of them.
	binding
}

// binding ties a remote request (a call, a spawn, a monitor by name) to
// the incarnation of its node whose connection loss ends it: the
// incarnation whose connection took it, once the transport said (via),
// else the target's creation (0: any). While the request is being sent
// (sending), the connections lost meanwhile are kept in lost.
type binding struct {
	via     uint32
	sending bool
	lost    []lostConn
}

// lostConn is a connection lost while a request was being sent: the
// peer's creation then and the error to answer with.
type lostConn struct {
	creation uint32
	err      error
}

// incarnation is the incarnation whose loss ends the request, given its
// target's creation.
func (b *binding) incarnation(target uint32) uint32 {
	if b.via != 0 {
		return b.via
	}
	return target
}

// settle ends the sending on incarnation via and returns the loss of that
// connection recorded meanwhile, if there was one.
func (b *binding) settle(via, target uint32) (lostConn, bool) {
	b.sending, b.via = false, via
	var hit lostConn
	found := false
	for _, l := range b.lost {
		if sameIncarnation(b.incarnation(target), l.creation) {
			hit, found = l, true
		}
	}
	b.lost = b.lost[:0]
	return hit, found
}

func (pc *pendingCall) deliver(r callResult) {
	if pc.cb == nil {
		pc.ch <- r
		return
	}
	pc.timer.Stop()
	pc.cb(r)
}

// callTable holds the pending calls of a node, keyed by ref (as Go's
// net/rpc client does), indexed by node so that a connection loss fails
// every call outstanding on it at once.
type callTable struct {
	mu     sync.Mutex // guards m and byNode
	m      map[uint64]*pendingCall
	byNode map[string]map[uint64]struct{}
	pool   sync.Pool // *pendingCall, recycled once their reply was read
}

func newCallTable() callTable {
	return callTable{m: map[uint64]*pendingCall{}, byNode: map[string]map[uint64]struct{}{}}
}

// add registers a pending call; node is "" for a local target; creation is
// the target's creation if known, else 0.
func (t *callTable) add(ref uint64, node string, creation uint32) *pendingCall {
	pc, _ := t.pool.Get().(*pendingCall)
	if pc == nil {
		pc = &pendingCall{ch: make(chan callResult, 1)}
	}
	pc.ref, pc.node, pc.creation = ref, node, creation
	pc.binding = binding{sending: node != "", lost: pc.lost[:0]}
	t.mu.Lock()
	t.m[ref] = pc
	if node != "" {
		addTo(t.byNode, node, ref, struct{}{})
	}
	t.mu.Unlock()
	return pc
}

// addFor registers a pending call for a waiting caller (cb nil) or an
// asynchronous one.
func (t *callTable) addFor(ref uint64, node string, creation uint32, deadline time.Time, cb func(callResult)) *pendingCall {
	if cb == nil {
		return t.add(ref, node, creation)
	}
	return t.addAsync(ref, node, creation, deadline, cb)
}

// addAsync registers a pending call whose result goes to cb, at the latest
// with ErrTimeout at deadline.
func (t *callTable) addAsync(ref uint64, node string, creation uint32, deadline time.Time, cb func(callResult)) *pendingCall {
	pc := &pendingCall{ref: ref, node: node, creation: creation, cb: cb, binding: binding{sending: node != ""}}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.m[ref] = pc
	if node != "" {
		addTo(t.byNode, node, ref, struct{}{})
	}
	pc.timer = time.AfterFunc(time.Until(deadline), func() { t.expire(ref) })
	return pc
}

// expire fails an asynchronous call at its deadline.
func (t *callTable) expire(ref uint64) {
	t.mu.Lock()
	pc := t.takeLocked(ref)
	t.mu.Unlock()
	if pc != nil {
		pc.cb(callResult{err: fmt.Errorf("%w: %w", ErrTimeout, context.DeadlineExceeded)})
	}
}

// takeLocked removes and returns the entry for ref. Caller holds mu.
func (t *callTable) takeLocked(ref uint64) *pendingCall {
	pc := t.m[ref]
	if pc == nil {
		return nil
	}
	delete(t.m, ref)
	if pc.node != "" {
		delFrom(t.byNode, pc.node, ref)
	}
	return pc
}

// complete delivers a reply; false if nobody waits for ref any more.
func (t *callTable) complete(ref uint64, payload []byte, err error) bool {
	t.mu.Lock()
	pc := t.takeLocked(ref)
	t.mu.Unlock()
	if pc == nil {
		return false
	}
	pc.deliver(callResult{payload, err})
	return true
}

// sent marks ref's request handed to the transport, on the connection to
// incarnation via of its node (0 if the transport does not say): the loss
// of that connection, also while the request was being sent, now answers
// it; the loss of another incarnation's does not.
func (t *callTable) sent(ref uint64, via uint32) {
	t.mu.Lock()
	pc := t.m[ref]
	if pc == nil {
		t.mu.Unlock()
		return
	}
	lost, hit := pc.settle(via, pc.creation)
	if hit {
		t.takeLocked(ref)
	}
	t.mu.Unlock()
	if hit {
		pc.deliver(callResult{err: lost.err})
	}
}

// cancel removes ref; false if a reply got there first (then it is in ch).
func (t *callTable) cancel(ref uint64) bool {
	t.mu.Lock()
	pc := t.takeLocked(ref)
	t.mu.Unlock()
	if pc != nil && pc.timer != nil {
		pc.timer.Stop()
	}
	return pc != nil
}

// failNode fails every call outstanding on the incarnation creation of
// node: calls that went out on the connection to another incarnation, or
// were aimed at a PID of another one, stay (they went to a newer
// connection). A call still being sent keeps the loss for sent to judge.
func (t *callTable) failNode(node string, creation uint32, err error) {
	t.mu.Lock()
	var pcs []*pendingCall
	for ref := range t.byNode[node] {
		switch pc := t.m[ref]; {
		case pc.sending:
			// answered by sent if it went out on that connection, or
			// replaced by the send's own error
			pc.lost = append(pc.lost, lostConn{creation, err})
		case !sameIncarnation(pc.incarnation(pc.creation), creation):
		default:
			pcs = append(pcs, t.takeLocked(ref))
		}
	}
	t.mu.Unlock()
	for _, pc := range pcs {
		pc.deliver(callResult{err: err})
	}
}

// failAll fails every pending call.
func (t *callTable) failAll(err error) {
	t.mu.Lock()
	pcs := make([]*pendingCall, 0, len(t.m))
	for ref := range t.m {
		pcs = append(pcs, t.takeLocked(ref))
	}
	t.mu.Unlock()
	for _, pc := range pcs {
		pc.deliver(callResult{err: err})
	}
}

func (t *callTable) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.m)
}

// wait waits for pc's reply until ctx ends or, if ctx has no deadline of
// its own, until deadline. A timeout wraps ErrTimeout.
func (t *callTable) wait(ctx context.Context, deadline time.Time, pc *pendingCall) ([]byte, error) {
	var expired <-chan time.Time
	if _, has := ctx.Deadline(); !has {
		tm := time.NewTimer(time.Until(deadline))
		defer tm.Stop()
		expired = tm.C
	}
	select {
	case r := <-pc.ch:
		return t.release(pc, r)
	case <-ctx.Done():
		return t.abandon(pc, fmt.Errorf("%w: %w", ErrTimeout, ctx.Err()))
	case <-expired:
		return t.abandon(pc, fmt.Errorf("%w: %w", ErrTimeout, context.DeadlineExceeded))
	}
}

// abandon gives up on pc, unless its reply is already there.
func (t *callTable) abandon(pc *pendingCall, err error) ([]byte, error) {
	if t.cancel(pc.ref) {
		return nil, err // nobody will write to pc.ch: safe to recycle
	}
	return t.release(pc, <-pc.ch)
}

// release recycles pc, whose one reply has been read, and returns it.
func (t *callTable) release(pc *pendingCall, r callResult) ([]byte, error) {
	t.pool.Put(pc)
	return r.payload, r.err
}

// sameIncarnation reports whether something aimed at creation target
// (0 = unknown) is affected by the loss of incarnation lost.
func sameIncarnation(target, lost uint32) bool { return target == 0 || target == lost }

// addTo and delFrom maintain a map of sets.
func addTo[K, K2 comparable, V any](m map[K]map[K2]V, k K, k2 K2, v V) {
	s := m[k]
	if s == nil {
		s = map[K2]V{}
		m[k] = s
	}
	s[k2] = v
}

func delFrom[K, K2 comparable, V any](m map[K]map[K2]V, k K, k2 K2) {
	if s := m[k]; s != nil {
		delete(s, k2)
		if len(s) == 0 {
			delete(m, k)
		}
	}
}
