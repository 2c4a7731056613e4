package placement

import (
	"errors"
	"fmt"
	"time"

	"github.com/placerhq/placer/node"
)

// The router is the service "placer.route". It runs inline on the
// transport reader (or on the local sender's goroutine), so it never
// blocks: spawns and pulls run on their own goroutines, calls are passed on
// with node.CallAsync, and requests for a key in transition wait in the
// key's bounded buffer. Routed requests from one node to another all carry
// that node's own identity as From, so the transport keeps them in order.

// onRouteCast receives a routed send.
func (c *Cluster) onRouteCast(_ node.PID, payload []byte) {
	req, err := decodeRouteReq(payload)
	if err != nil || req.op != opSend {
		c.stats.dropped.Add(1)
		c.log.Debug().Err(err).Msg("malformed routed send dropped")
		return
	}
	c.stats.routed.Add(1)
	c.route(req, time.Time{}, nil)
}

// onRouteCall receives a routed call, ensure or whereis.
func (c *Cluster) onRouteCall(_ node.PID, payload []byte, deadline time.Time, reply node.ReplyFunc) {
	req, err := decodeRouteReq(payload)
	if err == nil && req.op == opSend {
		err = ErrBadRequest
	}
	if err != nil {
		reply(encodeStatus(statusOf(err)), nil)
		return
	}
	c.stats.routed.Add(1)
	c.route(req, deadline, reply)
}

// route serves a request on this node: to the hosted process, into the
// key's buffer, to a new process if this node owns the key, or onward to
// the owner this node believes in. reply is nil for a send.
func (c *Cluster) route(req routeReq, deadline time.Time, reply node.ReplyFunc) {
	if c.isClosing() {
		c.fail(req, reply, ErrShutdown)
		return
	}
	s := c.snap.Load()
	if req.checksum != s.view.Checksum {
		c.stats.viewMismatch.Add(1)
	}
	if c.cfg.Quorum && !s.quorum && req.flags&flagHandoff == 0 {
		c.stats.noQuorum.Add(1)
		c.fail(req, reply, ErrNoQuorum)
		return
	}
	if !c.kinds[req.kind] {
		c.fail(req, reply, fmt.Errorf("%w: %q", ErrUnknownKind, req.kind))
		return
	}
	id := keyID{Kind: req.kind, Key: req.key}
	for range 3 { // an entry can vanish between lookup and use: look again
		if e := c.reg.get(id); e != nil && c.deliverHosted(e, req, deadline, reply) {
			return
		}
		if c.routeUnhosted(s, id, req, deadline, reply) {
			return
		}
	}
	c.fail(req, reply, ErrBusy)
}

// deliverHosted serves req from a hosted entry; false if the entry is gone.
func (c *Cluster) deliverHosted(e *entry, req routeReq, deadline time.Time, reply node.ReplyFunc) bool {
	e.mu.Lock()
	st, pid := e.state, e.pid
	direct := st == stateActive || (st == stateImporting && req.flags&flagHandoff != 0 && !pid.IsZero())
	switch {
	case st == stateGone:
		e.mu.Unlock()
		return false
	case direct:
		e.inflight.Add(1) // a passivation waits until it is in the mailbox
		e.mu.Unlock()
		if c.passivates {
			e.lastUsed.Store(time.Now().UnixNano())
		}
		c.deliver(pid, req, deadline, reply)
		e.inflight.Add(-1)
		return true
	}
	ok := e.bufferLocked(pending{req: req, deadline: deadline, reply: reply}, c.cfg.BufferSize)
	var wake []byte
	woke := ok && st == stateCold
	if woke {
		wake = e.wakeLocked()
	}
	e.mu.Unlock()
	if !ok {
		c.fail(req, reply, ErrBusy)
		return true
	}
	c.stats.buffered.Add(1)
	if woke && !c.goTracked(func() { c.reactivate(e, wake) }) {
		c.dropEntry(e, ErrShutdown)
	}
	return true
}

// deliver hands req to the local process pid.
func (c *Cluster) deliver(pid node.PID, req routeReq, deadline time.Time, reply node.ReplyFunc) {
	switch req.op {
	case opSend:
		if err := c.node.SendFrom(req.from, pid, req.payload); err != nil {
			c.stats.dropped.Add(1)
		}
	case opCall:
		c.node.CallAsync(pid, req.payload, deadline, func(resp []byte, err error) {
			if errors.Is(err, errStale) && int(req.hops) < c.cfg.MaxHops {
				// The copy found itself superseded (and stops): route the
				// call again, to the newer copy (its effect on the stale
				// one was not acknowledged: at least once, as documented).
				req.hops++
				c.route(req, deadline, reply)
				return
			}
			if errors.Is(err, ErrBusy) {
				// The key's own machinery refused (a superseded copy, a
				// replication its backups did not store): the caller gets
				// ErrBusy, not a handler error, and may ask again.
				c.fail(req, reply, err)
				return
			}
			if err != nil {
				reply(nil, err)
				return
			}
			reply(encodeStatus(stOK, resp), nil)
		})
	default: // opEnsure, opWhereis
		reply(encodeStatus(stOK, encodePID(pid)), nil)
	}
}

// routeUnhosted serves req for a key with no entry here: a new entry if
// this node owns the key, else onward. false if an entry appeared
// meanwhile (the caller looks again).
func (c *Cluster) routeUnhosted(s *snapshot, id keyID, req routeReq, deadline time.Time, reply node.ReplyFunc) bool {
	owner := s.owner(req.key)
	switch {
	case owner == c.self:
		return c.routeOwned(s, id, req, deadline, reply)
	case owner == "":
		c.fail(req, reply, ErrNoMembers)
	case int(req.hops) < c.cfg.MaxHops:
		c.forward(owner, req, deadline, reply)
	default:
		c.stats.notOwner.Add(1)
		c.fail(req, reply, &NotOwnerError{Owner: owner})
	}
	return true
}

// routeOwned creates the entry for a key this node owns and does not host:
// pulling if a previous owner may still host it, else starting fresh.
func (c *Cluster) routeOwned(s *snapshot, id keyID, req routeReq, deadline time.Time, reply node.ReplyFunc) bool {
	if req.op == opWhereis {
		c.fail(req, reply, ErrNoProcess)
		return true
	}
	now := time.Now()
	cands := c.pullCandidates(id, now) // with the holder of a newer copy, if one is known
	st := stateStarting
	if len(cands) > 0 {
		st = statePulling
	}
	e, created := c.reg.getOrCreate(id, st, &pending{req: req, deadline: deadline, reply: reply}, now)
	if !created {
		return false
	}
	c.initRep(e, 1, 0)
	c.stats.buffered.Add(1)
	var started bool
	if st == statePulling {
		started = c.goTracked(func() { c.pull(e, cands) })
	} else {
		started = c.startFresh(e)
	}
	if !started {
		c.dropEntry(e, ErrShutdown)
	}
	return true
}

// forward passes req on to owner, one hop further.
func (c *Cluster) forward(owner string, req routeReq, deadline time.Time, reply node.ReplyFunc) {
	req.hops++
	c.stats.forwarded.Add(1)
	c.sendTo(owner, req, deadline, reply)
}

// sendTo sends req to the router of node to, as this node. A call's reply
// passes straight back to reply, unless to could not be reached because it
// is gone (rerouted).
func (c *Cluster) sendTo(to string, req routeReq, deadline time.Time, reply node.ReplyFunc) {
	dest := node.Named{Name: routeService, Node: to}
	if reply == nil {
		if err := c.node.SendFrom(c.selfPID, dest, req.encode()); err != nil && !c.rerouted(to, req, err, deadline, nil) {
			c.stats.dropped.Add(1)
			c.log.Debug().Str("to", to).Err(err).Msg("routed send dropped")
		}
		return
	}
	c.node.CallAsync(dest, req.encode(), deadline, func(resp []byte, err error) {
		if err != nil && c.rerouted(to, req, err, deadline, reply) {
			return
		}
		reply(resp, err)
	})
}

// rerouted routes req again from here, one hop further, when it could not
// reach to (node.ErrNoConnection) and to has left this node's view
// meanwhile: a request forwarded to a key's new owner, or buffered during
// a push and passed on after it, whose target crashed. The current owner
// serves it instead of the caller getting an error for a node that is
// gone. (Its effect may have reached the dead node's process before the
// connection broke: at least once, as for a caller's own retry when the
// view changed.) false if it was not rerouted.
func (c *Cluster) rerouted(to string, req routeReq, err error, deadline time.Time, reply node.ReplyFunc) bool {
	if !errors.Is(err, node.ErrNoConnection) || int(req.hops) >= c.cfg.MaxHops || c.isClosing() || c.snap.Load().isAlive(to) {
		return false
	}
	c.stats.forwarded.Add(1) // to the owner this node believes in now
	req.hops++
	req.flags &^= flagHandoff // no longer the tail of that push
	c.route(req, deadline, reply)
	return true
}

// fail answers req with err: a call gets the error, a send is counted as
// dropped.
func (c *Cluster) fail(req routeReq, reply node.ReplyFunc, err error) {
	if reply == nil {
		c.stats.dropped.Add(1)
		return
	}
	reply(encodeStatus(statusOf(err)), nil)
}
