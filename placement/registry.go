package placement

import (
	"context"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/ring"
)

// entryState is where a hosted key is in its life on this node.
type entryState uint8

const (
	// stateStarting: a fresh process is being spawned; requests buffer.
	stateStarting entryState = iota + 1
	// statePulling: this node owns the key and asks its previous owners
	// whether one of them hosts it; requests buffer.
	statePulling
	// stateImporting: the process was started from the old owner's state;
	// direct requests buffer until the old owner's finish, so that what it
	// forwards (flagHandoff) is delivered first.
	stateImporting
	// stateActive: requests go straight to the process.
	stateActive
	// stateMoving: the process is frozen and being pushed to its new
	// owner; requests buffer and follow it.
	stateMoving
	// stateFlushing: the buffer is being delivered before the entry turns
	// active; requests still buffer, so none overtakes an older one.
	stateFlushing
	// stateGone: removed from the registry; whoever holds the entry routes
	// afresh.
	stateGone
	// stateCold: passivated: no process; its exported state is kept in the
	// entry (and replicated), and the next request starts it again.
	stateCold
)

var stateNames = [...]string{"", "starting", "pulling", "importing", "active", "moving", "flushing", "gone", "passive"}

// String returns the state's name.
func (s entryState) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "unknown"
}

// pending is a request buffered while its key is in transition.
type pending struct {
	req      routeReq
	deadline time.Time
	reply    node.ReplyFunc // nil for a send
}

// entry is one hosted key. Its mutex is never held while calling node or
// user code: transitions take it briefly, and the requests a transition
// releases are delivered after unlocking.
type entry struct {
	id   keyID
	hash uint64

	mu    sync.Mutex // guards the fields below
	state entryState
	pid   node.PID  // zero until the process runs
	buf   []pending // requests waiting for the transition to end
	since time.Time // when state was entered
	// failedAt is when a push of this key last failed: the reconcile
	// leaves it alone for a while (view changes and pulls still push).
	failedAt time.Time
	// rep is the copy's replication state (replicated kinds only; set
	// before its process starts).
	rep *replState
	// cold is the exported state of a passivated entry (stateCold).
	cold []byte
	// exited is set when e's process (pid) ended while e was in a state
	// that cannot be removed at once (starting, moving): the activation
	// that follows removes e instead of serving a dead process.
	exited bool
	// askedPrimary is the live primary of a backup copy that a start
	// asked for the key before promoting the copy (spawnFresh).
	askedPrimary string

	// lastUsed is when a request last reached the process (unix ns);
	// inflight counts deliveries that read the state active and have not
	// reached the mailbox yet (a passivation waits for them).
	lastUsed atomic.Int64
	inflight atomic.Int32
}

// replState returns e's replication state (nil for kinds without
// replication).
func (e *entry) replState() *replState {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.rep
}

// is reports whether e is in state s.
func (e *entry) is(s entryState) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.state == s
}

// snapshot returns e's state and pid.
func (e *entry) snapshot() (entryState, node.PID) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.state, e.pid
}

// bufferLocked appends p unless the buffer is full. Caller holds e.mu.
func (e *entry) bufferLocked(p pending, limit int) bool {
	if len(e.buf) >= limit {
		return false
	}
	e.buf = append(e.buf, p)
	return true
}

// registry maps keys to entries. Lock order: registry.mu before entry.mu,
// never the other way round.
type registry struct {
	mu      sync.RWMutex // guards m, byPID and changed
	m       map[keyID]*entry
	byPID   map[node.PID]*entry
	changed chan struct{} // closed and replaced whenever an entry is removed
}

func newRegistry() registry {
	return registry{m: map[keyID]*entry{}, byPID: map[node.PID]*entry{}, changed: make(chan struct{})}
}

// get returns the entry for id, or nil.
func (r *registry) get(id keyID) *entry {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.m[id]
}

// getOrCreate returns the live entry for id, or creates one in state st
// holding first (if not nil) in its buffer. created says which.
func (r *registry) getOrCreate(id keyID, st entryState, first *pending, now time.Time) (*entry, bool) {
	return r.getOrCreateWith(id, st, now, func(e *entry) {
		if first != nil {
			e.buf = append(e.buf, *first)
		}
	})
}

// getOrCreateWith is getOrCreate of an entry that init completes before
// it is published (no other goroutine can see it half made).
func (r *registry) getOrCreateWith(id keyID, st entryState, now time.Time, init func(*entry)) (*entry, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e := r.m[id]; e != nil && !e.is(stateGone) {
		return e, false
	}
	e := &entry{id: id, hash: ring.HashString(id.Key), state: st, since: now}
	init(e)
	r.m[id] = e
	return e, true
}

// setPID records e's process.
func (r *registry) setPID(e *entry, pid node.PID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.byPID[pid] = e
}

// dropPID forgets pid as a process of e (replaced by another).
func (r *registry) dropPID(e *entry, pid node.PID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.byPID[pid] == e {
		delete(r.byPID, pid)
	}
}

// byProcess returns the entry whose process is pid, or nil.
func (r *registry) byProcess(pid node.PID) *entry {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.byPID[pid]
}

// remove drops e (already marked gone) from the registry.
func (r *registry) remove(e *entry, pid node.PID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m[e.id] == e {
		delete(r.m, e.id)
	}
	if !pid.IsZero() && r.byPID[pid] == e {
		delete(r.byPID, pid)
	}
	close(r.changed)
	r.changed = make(chan struct{})
}

// len returns the number of entries.
func (r *registry) len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.m)
}

// movable returns the hosted keys a view change may move: active ones and
// passivated ones.
func (r *registry) movable() []hostedKey {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]hostedKey, 0, len(r.m))
	for _, e := range r.m {
		if st, _ := e.snapshot(); st == stateActive || st == stateCold {
			out = append(out, hostedKey{ID: e.id, Hash: e.hash})
		}
	}
	return out
}

// reconcilable returns the active (or passivated) keys whose last failed
// push (if any) is older than backoff.
func (r *registry) reconcilable(now time.Time, backoff time.Duration) []hostedKey {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]hostedKey, 0, len(r.m))
	for _, e := range r.m {
		e.mu.Lock()
		ok := (e.state == stateActive || e.state == stateCold) && now.Sub(e.failedAt) >= backoff
		e.mu.Unlock()
		if ok {
			out = append(out, hostedKey{ID: e.id, Hash: e.hash})
		}
	}
	return out
}

// cold counts the passivated entries and the bytes of their states.
func (r *registry) cold() (n, bytes int) {
	for _, e := range r.entries() {
		e.mu.Lock()
		if e.state == stateCold {
			n, bytes = n+1, bytes+len(e.cold)
		}
		e.mu.Unlock()
	}
	return n, bytes
}

// entries returns every entry, for inspection.
func (r *registry) entries() []*entry {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]*entry, 0, len(r.m))
	for _, e := range r.m {
		out = append(out, e)
	}
	return out
}

// waitEmpty waits until the registry holds no entry or ctx ends.
func (r *registry) waitEmpty(ctx context.Context) error {
	for {
		r.mu.RLock()
		n, ch := len(r.m), r.changed
		r.mu.RUnlock()
		if n == 0 {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Hosted describes a keyed process hosted by this node (Cluster.Hosted),
// or a backup copy of a replicated key's state (Cluster.Backups).
type Hosted struct {
	Kind  string      `json:"kind"`
	Key   string      `json:"key"`
	PID   node.PID    `json:"pid"` // zero while starting or pulling, and for a backup
	State HostedState `json:"state"`
	// Role is RolePrimary for a hosted process, RoleBackup for a backup
	// copy.
	Role string `json:"role"`
	// Term and Seq identify the copy's version (replicated kinds): a copy
	// promoted from a backup has a higher term.
	Term uint64 `json:"term,omitempty"`
	Seq  uint64 `json:"seq,omitempty"`
}

// Roles of a copy (Hosted.Role).
const (
	RolePrimary = "primary"
	RoleBackup  = "backup"
)

// HostedState is where a hosted key is in its life on this node; in JSON
// its name.
type HostedState string

// The states of a hosted key. Requests for a key in any state but
// StateActive wait in the key's buffer (Config.BufferSize), in order.
const (
	// StateStarting: a fresh process is being spawned.
	StateStarting HostedState = "starting"
	// StatePulling: this node owns the key and asks its previous owners
	// whether one of them still hosts it, before starting it fresh.
	StatePulling HostedState = "pulling"
	// StateImporting: the process was started from the old owner's state;
	// it waits for the old owner's finish so that what the old owner
	// forwards is delivered first.
	StateImporting HostedState = "importing"
	// StateActive: requests go straight to the process.
	StateActive HostedState = "active"
	// StateMoving: the process is frozen and being handed to its new owner;
	// what arrives follows it there.
	StateMoving HostedState = "moving"
	// StateFlushing: the buffer is being delivered before the key turns
	// active (after a start, an import or an aborted move).
	StateFlushing HostedState = "flushing"
	// StateBackup: a backup copy of a replicated key's state, kept for the
	// key's primary on another node (Cluster.Backups).
	StateBackup HostedState = "backup"
	// StatePassive: passivated (KindSpec.IdleTimeout, MaxLive): no
	// process runs; the exported state is kept (and replicated) and the
	// next request starts the process from it.
	StatePassive HostedState = "passive"
)

// hosted lists the entries sorted by kind and key.
func (r *registry) hosted() []Hosted {
	es := r.entries()
	out := make([]Hosted, 0, len(es))
	for _, e := range es {
		st, pid := e.snapshot()
		if st == stateGone {
			continue
		}
		h := Hosted{Kind: e.id.Kind, Key: e.id.Key, PID: pid, State: HostedState(st.String()), Role: RolePrimary}
		if rep := e.replState(); rep != nil {
			r := rep.snapshot()
			h.Term, h.Seq = r.term, r.seq
		}
		out = append(out, h)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return out[i].Kind < out[j].Kind
		}
		return out[i].Key < out[j].Key
	})
	return out
}
