package placement

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/placerhq/placer/internal/par"
	"github.com/placerhq/placer/node"
)

// The replication protocol. A replicated kind's process (its behaviour
// wrapped by replicated) exports its state after every message and call it
// handles and, if the state changed, sends it with the copy's term and the
// next sequence number to the backups: the next R−1 members of the key's
// preference list in the primary's view (ring.Ring.LocateN: the members
// that would own it, in order, as the ones before them leave). In sync mode the
// process waits until every backup stored it before it answers the call or
// takes the next message, so an acknowledged write is on R nodes.
//
// A backup stores an update unless a newer term of the key exists here
// (then it answers "stale", naming the holder: the primary's copy was
// superseded by a promotion while its node was thought dead, and it stops
// answering). It does not also require the sender to own the key in its
// own view: during a rebalance the old owner's process keeps handling what
// reached it until it is frozen, and views converge at different times;
// refusing its updates then would fail calls whose effect the handoff
// carries anyway. Terms are the fence: a node that comes back from a pause
// replicates to its old backups, and the first of them is the node that
// promoted the key meanwhile (the preference list makes the first backup
// the next owner), which holds the newer term and refuses.
//
// Terms: a fresh process starts at term 1; a copy handed off keeps its
// term; a copy promoted from a backup (its primary gone) takes the
// backup's term + 1. At a heal, a copy with a higher term supersedes one
// with a lower term.

// replState is one hosted copy's replication state, shared by its entry
// and its process's wrapper.
type replState struct {
	mu       sync.Mutex // guards the fields below
	term     uint64
	seq      uint64
	last     []byte // the state last replicated (nil before the first)
	exported bool
	stale    string // the holder of a newer term, once a backup said so
	inflight int    // async: updates sent and not yet answered
	room     chan struct{}
}

// snapshot returns the copy as a replica.
func (r *replState) snapshot() replica {
	r.mu.Lock()
	defer r.mu.Unlock()
	return replica{term: r.term, seq: r.seq, exported: r.exported, state: r.last}
}

// errStale: a backup holds a newer term of the key: this copy was
// superseded and must not answer.
var errStale = errors.New("placement: this copy of the key was superseded by a newer term")

// staleError is errStale with the newer term and its holder.
type staleError struct {
	term   uint64
	holder string
}

func (e *staleError) Error() string {
	return fmt.Sprintf("%v: term %d on %s", errStale, e.term, e.holder)
}

func (e *staleError) Is(target error) bool { return target == errStale }

// backupsOf returns the backups of key in view v for R copies: the first
// R−1 members of its preference list other than self.
func backupsOf(v *View, self, key string, r int) []string {
	if r < 2 {
		return nil
	}
	out := v.OwnerN(key, r)
	out = slices.DeleteFunc(out, func(n string) bool { return n == self })
	if len(out) > r-1 {
		out = out[:r-1]
	}
	return out
}

// replicate sends one update of id to its backups and waits (sync) until
// every backup stored it, retrying while a backup's view lags, for up to
// replicaTimeout. It returns errStale (wrapped, naming the holder) if a
// backup holds a newer term.
func (c *Cluster) replicate(id keyID, spec KindSpec, m replMsg) error {
	deadline := time.Now().Add(replicaTimeout)
	backoff := time.Millisecond
	for {
		backups := backupsOf(c.snap.Load().view, c.self, id.Key, spec.Replicas)
		if len(backups) == 0 {
			return nil // a cluster of one: nothing to wait for
		}
		pending, err := c.sendUpdate(backups, m, deadline)
		if err != nil || len(pending) == 0 {
			switch {
			case err == nil:
				c.stats.replUpdates.Add(1)
			case errors.Is(err, ErrStateTooLarge):
				c.stats.replFailed.Add(1)
			}
			return err
		}
		if !time.Now().Add(backoff).Before(deadline) {
			c.stats.replFailed.Add(1)
			return fmt.Errorf("%w: replication of %s %s: %v did not store it within %v", ErrBusy, id.Kind, id.Key, pending, replicaTimeout)
		}
		if !c.sleep(backoff) {
			return ErrShutdown
		}
		backoff = min(2*backoff, 50*time.Millisecond)
	}
}

// sendUpdate sends m to every backup at once and collects the answers: the
// backups that must be asked again (unreachable, or not yet agreeing that
// this node owns the key), or errStale, or ErrStateTooLarge.
func (c *Cluster) sendUpdate(backups []string, m replMsg, deadline time.Time) ([]string, error) {
	type answer struct {
		to   string
		resp []byte
		err  error
	}
	answers := make(chan answer, len(backups))
	body := m.encode()
	for _, b := range backups {
		c.node.CallAsync(node.Named{Name: replService, Node: b}, body, deadline, func(resp []byte, err error) {
			answers <- answer{b, resp, err}
		})
	}
	var retry []string
	var fatal error // errStale, or ErrStateTooLarge
	for range backups {
		a := <-answers
		switch {
		case errors.Is(a.err, node.ErrTooLarge):
			fatal = tooLarge(m, a.err) // retrying cannot help
		case a.err != nil || len(a.resp) == 0 || a.resp[0] == rsNotYet:
			retry = append(retry, a.to)
		case a.resp[0] == rsStale:
			term, holder, _ := decodeStale(a.resp[1:])
			fatal = &staleError{term: term, holder: holder}
		}
	}
	if errors.Is(fatal, ErrStateTooLarge) {
		return nil, fatal
	}
	return retry, fatal
}

// tooLarge is the error of an update whose state does not fit a frame.
func tooLarge(m replMsg, err error) error {
	return fmt.Errorf("%w: %s %s: %d bytes: %w", ErrStateTooLarge, m.kind, m.key, len(m.state), err)
}

// onRepl serves the replication service (inline on the transport reader:
// it never blocks).
func (c *Cluster) onRepl(from node.PID, payload []byte, _ time.Time, reply node.ReplyFunc) {
	m, err := decodeReplMsg(payload)
	switch {
	case err != nil:
		reply(nil, err)
	case c.isClosing():
		reply([]byte{rsNotYet}, nil)
	case m.op == rpFetch:
		c.onFetch(m, reply)
	case m.op == rpDrop:
		c.replicas.dropUpTo(keyID{Kind: m.kind, Key: m.key}, m.term)
		reply([]byte{rsOK}, nil)
	default:
		reply(c.onUpdate(from.Node, m), nil)
	}
}

// onUpdate stores a primary's update unless a newer copy of the key is
// known here: a newer term, or, in the same term, more updates from
// another primary. The latter is a fork: a copy started fresh (term 1)
// while another copy of term 1 lived on, which must not acknowledge
// writes the older lineage will override; its primary is told stale,
// stops, and the next request fetches the other copy. (A handoff's new
// owner continues the old one's sequence from the same state, so its
// updates are never behind, and at the same number they are equal.)
func (c *Cluster) onUpdate(sender string, m replMsg) []byte {
	id := keyID{Kind: m.kind, Key: m.key}
	if e := c.reg.get(id); e != nil {
		if rep := e.replState(); rep != nil && rep.termNow() > m.term {
			return encodeStale(rep.termNow(), c.self)
		}
	}
	if cur, ok := c.replicas.get(id); ok {
		fork := cur.term == m.term && cur.primary != sender &&
			(cur.seq > m.seq || (cur.seq == m.seq && !bytes.Equal(cur.state, m.state)))
		if cur.term > m.term || fork {
			return encodeStale(cur.term, cur.primary)
		}
	}
	c.replicas.offer(id, replica{
		term: m.term, seq: m.seq, exported: m.exported, state: bytes.Clone(m.state), primary: sender, at: time.Now(),
	})
	return []byte{rsOK}
}

// termNow is the copy's term.
func (r *replState) termNow() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.term
}

// onFetch answers a new primary's fetch with this node's copy.
func (c *Cluster) onFetch(m replMsg, reply node.ReplyFunc) {
	r, ok := c.replicas.get(keyID{Kind: m.kind, Key: m.key})
	if !ok {
		reply([]byte{rsNone}, nil)
		return
	}
	reply(encodeCopy(&r), nil)
}

// fetchCopies asks the nodes that may hold a copy of the key (copyHolders)
// for theirs and returns the newest of them and the local one (ok false if
// none).
func (c *Cluster) fetchCopies(ctx context.Context, id keyID, spec KindSpec) (replica, bool) {
	best, ok := c.replicas.get(id)
	m := replMsg{op: rpFetch, kind: id.Kind, key: id.Key}
	for _, b := range c.copyHolders(id.Key, spec.Replicas) {
		resp, err := c.node.Call(ctx, node.Named{Name: replService, Node: b}, m.encode())
		if err != nil || len(resp) == 0 || resp[0] != rsOK {
			continue
		}
		if r, err := decodeCopy(resp[1:]); err == nil && (!ok || r.newer(&best)) {
			best, ok = r, true
		}
	}
	return best, ok
}

// copyHolders lists the alive members, other than this node, that may
// hold the newest copy of key: its backups in the current view and in
// every recent view (the primary's last writes went to the backups of the
// view it had; and with the ring's nearest-point ownership the member that
// takes a failed owner's keys is not always its first backup).
func (c *Cluster) copyHolders(key string, r int) []string {
	s := c.snap.Load()
	var out []string
	add := func(names []string) {
		for _, n := range names {
			if n != c.self && s.isAlive(n) && !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
	}
	add(backupsOf(s.view, c.self, key, r))
	now := time.Now()
	for _, p := range s.past {
		if now.Before(p.expires) {
			add(p.ring.LocateN([]byte(key), r))
		}
	}
	return out
}

// replicateCopy replicates one update of a copy: sync (wait for every
// backup) or async (bounded lag).
func (c *Cluster) replicateCopy(rep *replState, id keyID, spec KindSpec, m replMsg) error {
	if spec.Async {
		return c.replicateAsync(rep, id, spec, m)
	}
	return c.replicate(id, spec, m)
}

// replicateAsync sends the update to the backups without waiting for
// them, once fewer than spec.MaxLag updates of this copy are in flight.
// A backup that answers stale marks the copy superseded; the next commit
// stops it.
func (c *Cluster) replicateAsync(rep *replState, id keyID, spec KindSpec, m replMsg) error {
	if holder := rep.staleHolder(); holder != "" {
		return &staleError{holder: holder}
	}
	backups := backupsOf(c.snap.Load().view, c.self, id.Key, spec.Replicas)
	if len(backups) == 0 {
		return nil
	}
	if err := rep.waitRoom(c.ctx, spec.MaxLag, len(backups)); err != nil {
		return err
	}
	body, deadline := m.encode(), time.Now().Add(replicaTimeout)
	var big atomic.Pointer[error] // set by an answer that comes at once: the frame limit
	for _, b := range backups {
		c.stats.replInflight.Add(1)
		c.node.CallAsync(node.Named{Name: replService, Node: b}, body, deadline, func(resp []byte, err error) {
			c.stats.replInflight.Add(-1)
			if errors.Is(err, node.ErrTooLarge) {
				e := tooLarge(m, err)
				big.Store(&e)
			}
			rep.answered(resp, err)
		})
	}
	if e := big.Load(); e != nil {
		c.stats.replFailed.Add(1)
		return *e
	}
	c.stats.replUpdates.Add(1)
	return nil
}

// waitRoom waits until n more updates fit under maxLag in flight, and
// counts them.
func (r *replState) waitRoom(ctx context.Context, maxLag, n int) error {
	r.mu.Lock()
	for r.inflight > 0 && r.inflight+n > maxLag {
		if r.room == nil {
			r.room = make(chan struct{})
		}
		ch := r.room
		r.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ErrShutdown
		}
		r.mu.Lock()
	}
	r.inflight += n
	r.mu.Unlock()
	return nil
}

// answered records a backup's answer to an async update.
func (r *replState) answered(resp []byte, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.inflight--
	if err == nil && len(resp) > 0 && resp[0] == rsStale {
		_, holder, _ := decodeStale(resp[1:])
		r.stale = holder
	}
	if r.room != nil {
		close(r.room)
		r.room = nil
	}
}

// staleHolder is the holder of a newer term, once a backup said so.
func (r *replState) staleHolder() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stale
}

// superseded records that this node's copy of id lost to a newer term on
// err's holder: the key's next entry here asks that node first, which
// pushes its copy (this node owns the key again).
//
// A Merger's state goes to the newer copy to merge (routed to the holder
// as a merge message): its writes since the copies parted are kept there
// (both sides of a partition write kv).
func (c *Cluster) superseded(id keyID, err error, state []byte) {
	var se *staleError
	if !errors.As(err, &se) {
		return
	}
	if c.merges(id.Kind) && se.holder != "" && se.holder != c.self {
		s := c.snap.Load()
		req := c.newReq(s, opSend, id.Kind, id.Key, c.selfPID, append([]byte(mergePrefix), state...))
		c.sendTo(se.holder, req, time.Time{}, nil)
	}
	c.stats.replStale.Add(1)
	c.hints.set(id, se.holder, time.Now().Add(c.cfg.PullWindow))
	c.warns.Warn("superseded", "this copy was superseded by a newer term (promoted while this node was thought dead); it stops and the newer copy takes over",
		func(ev *zerolog.Event) *zerolog.Event {
			return ev.Str("kind_name", id.Kind).Str("key", id.Key).Str("holder", se.holder).Uint64("term", se.term)
		})
}

// initRep gives a new entry of a replicated kind its replication state,
// before its process starts.
func (c *Cluster) initRep(e *entry, term, seq uint64) {
	if c.cfg.specFor(e.id.Kind).Replicas < 2 {
		return
	}
	e.mu.Lock()
	e.rep = &replState{term: term, seq: seq}
	e.mu.Unlock()
}

// dropBackups tells e's backups that its process ended by itself (not a
// handoff), so that its copies are not promoted later.
func (c *Cluster) dropBackups(e *entry) {
	rep := e.replState()
	if rep == nil {
		return
	}
	r := rep.snapshot()
	m := replMsg{op: rpDrop, term: r.term, seq: r.seq, kind: e.id.Kind, key: e.id.Key}
	for _, b := range backupsOf(c.snap.Load().view, c.self, e.id.Key, c.cfg.specFor(e.id.Kind).Replicas) {
		c.node.CallAsync(node.Named{Name: replService, Node: b}, m.encode(), time.Now().Add(replicaTimeout), func([]byte, error) {})
	}
}

// resync follows a view change from prev: it promotes the copies whose
// primary is gone, then sends each hosted replicated copy this node owns
// to its backups in the current view if they are not the backups it had
// in prev (a member joined, left or failed among them), without waiting.
func (c *Cluster) resync(prev *View) {
	c.promoteOrphans()
	v := c.snap.Load().view
	for _, e := range c.reg.entries() {
		if e.replState() == nil || v.Owner(e.id.Key) != c.self {
			continue
		}
		r := c.cfg.specFor(e.id.Kind).Replicas
		if !sameMembers(backupsOf(prev, c.self, e.id.Key, r), backupsOf(v, c.self, e.id.Key, r)) {
			c.sendCopy(e, v)
		}
	}
}

// sameMembers reports whether a and b hold the same names.
func sameMembers(a, b []string) bool {
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

// gcReplicas drops the backup copies this node no longer needs: those of
// keys it hosts itself, and, after PullWindow, those of keys whose
// preference list in the current view leaves it out.
func (c *Cluster) gcReplicas(now time.Time) {
	v := c.snap.Load().view
	c.replicas.each(func(id keyID, r replica) {
		needed := slices.Contains(v.OwnerN(id.Key, c.cfg.specFor(id.Kind).Replicas), c.self)
		if c.hostsNewer(id, r) || (!needed && now.Sub(r.at) > c.cfg.PullWindow) {
			c.replicas.drop(id, r.term, r.seq)
		}
	})
}

// hostsNewer reports whether this node runs id, active, from a copy at
// least as new as r (then r is of no more use here).
func (c *Cluster) hostsNewer(id keyID, r replica) bool {
	e := c.reg.get(id)
	if e == nil || !e.is(stateActive) {
		return false
	}
	rep := e.replState()
	if rep == nil {
		return false
	}
	cur := rep.snapshot()
	return !r.newer(&cur)
}

// promoteOrphans makes this node the primary of the keys whose backup
// copy it holds and which it owns now that their primary is gone (not
// alive in the view): each becomes a passivated entry (no process yet)
// from the copy, with the next term, and is sent to its backups at once,
// so that R copies exist again without waiting for a request. A key whose
// primary is alive (a graceful move) waits for its handoff instead.
func (c *Cluster) promoteOrphans() {
	s := c.snap.Load()
	if c.cfg.Quorum && !s.quorum {
		return // a side without a majority must not take keys over: its terms would beat the majority's copies at the heal
	}
	var orphans []keyID
	c.replicas.each(func(id keyID, r replica) {
		if s.owner(id.Key) == c.self && !s.isAlive(r.primary) && c.reg.get(id) == nil {
			orphans = append(orphans, id)
		}
	})
	// Each asks the other holders for a newer copy: a round trip, run
	// promoteParallel at a time.
	_ = par.ForEach(c.ctx, len(orphans), promoteParallel, func(i int) error {
		c.promote(s, orphans[i])
		return nil
	})
}

// promoteParallel bounds the promotions in flight after a view change.
const promoteParallel = 32

// promote makes this node the primary of orphan id (see promoteOrphans).
func (c *Cluster) promote(s *snapshot, id keyID) {
	ctx, cancel := context.WithTimeout(c.ctx, c.cfg.HandoffTimeout)
	best, ok := c.fetchCopies(ctx, id, c.cfg.specFor(id.Kind)) // a newer copy may be on another backup
	cancel()
	if !ok || c.reg.get(id) != nil {
		return
	}
	// The entry is published cold with its state and term in place: a
	// request may wake it as soon as it is in the registry.
	e, created := c.reg.getOrCreateWith(id, stateCold, time.Now(), func(e *entry) {
		e.cold = best.state
		e.rep = &replState{term: best.term + 1, seq: best.seq, last: best.state, exported: best.exported}
		e.lastUsed.Store(time.Now().UnixNano())
	})
	if !created {
		return
	}
	c.stats.promotions.Add(1)
	c.sendCopy(e, s.view)
}

// sendCopy sends e's last replicated state to its backups in v without
// waiting.
func (c *Cluster) sendCopy(e *entry, v *View) {
	rep := e.replState()
	if rep == nil {
		return
	}
	r := rep.snapshot()
	if r.state == nil {
		return
	}
	m := replMsg{op: rpUpdate, exported: r.exported, term: r.term, seq: r.seq, kind: e.id.Kind, key: e.id.Key, state: r.state}
	for _, b := range backupsOf(v, c.self, e.id.Key, c.cfg.specFor(e.id.Kind).Replicas) {
		c.stats.replResent.Add(1)
		c.node.CallAsync(node.Named{Name: replService, Node: b}, m.encode(), time.Now().Add(replicaTimeout), func([]byte, error) {})
	}
}
