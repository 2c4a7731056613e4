package global

import (
	"slices"
	"time"

	"github.com/placerhq/placer/node"
)

// LockInfo describes a lock as its authority sees it.
type LockInfo struct {
	ID        string   `json:"id"`
	Holder    node.PID `json:"holder"`              // zero when free
	Count     int      `json:"count"`               // the holder's nested SetLocks not yet released
	Token     uint64   `json:"token"`               // the holder's fencing token (0 when free)
	LastToken uint64   `json:"last_token"`          // the largest token issued or learned for the id
	Waiters   []Waiter `json:"waiters"`             // first come, first served
	Authority string   `json:"authority,omitempty"` // the node whose authority answered
}

// Waiter is a requester queued for a lock.
type Waiter struct {
	Requester node.PID  `json:"requester"`
	Since     time.Time `json:"since"`
}

// lockCore is one lock's state at its authority: the holder, the FIFO queue
// and the tokens. It is pure (no I/O, no clock: now and the token source
// are given) so that it is tested against a model.
type lockCore struct {
	holder  node.PID
	count   int
	token   uint64
	reqID   uint64 // the request that granted the lock: its retries are answered again
	last    uint64 // the largest token issued or learned
	waiters []waiting
}

// waiting is a queued acquire; handle is the process's deferred reply.
type waiting struct {
	requester node.PID
	reqID     uint64
	since     time.Time
	deadline  time.Time // zero: until the requester gives up or dies
	handle    any
}

// answer is a reply the authority owes a waiter.
type answer struct {
	handle any
	status uint8 // stOK (granted), stTimeout, stBusy, stMoved
	lock   LockInfo
	waited time.Duration // a grant from the queue: how long it waited
}

// acquireResult is the outcome of an acquire.
type acquireResult uint8

const (
	acqGranted acquireResult = iota + 1
	acqQueued
	acqBusy
)

// acquire handles a request of requester (request reqID) that waits up to
// wait (0: not at all; < 0: until it gives up). next issues a token.
// A queued request that replaces an earlier one of the same requester
// answers the earlier busy.
func (c *lockCore) acquire(w waiting, wait time.Duration, next func() uint64) (acquireResult, []answer) {
	switch {
	case c.holder == w.requester:
		if c.reqID != w.reqID {
			c.count, c.reqID = c.count+1, w.reqID
		}
		return acqGranted, nil
	case c.holder.IsZero() && len(c.waiters) == 0:
		c.grant(w, next)
		return acqGranted, nil
	case wait == 0:
		return acqBusy, nil
	}
	if wait > 0 {
		w.deadline = w.since.Add(wait)
	}
	var out []answer
	if i := c.waiterIndex(w.requester); i >= 0 {
		if c.waiters[i].reqID != w.reqID {
			out = append(out, answer{handle: c.waiters[i].handle, status: stBusy})
		}
		c.waiters[i] = w
		return acqQueued, out
	}
	c.waiters = append(c.waiters, w)
	return acqQueued, out
}

func (c *lockCore) grant(w waiting, next func() uint64) {
	c.holder, c.count, c.reqID = w.requester, 1, w.reqID
	c.token = max(next(), c.last+1)
	c.last = c.token
}

func (c *lockCore) waiterIndex(pid node.PID) int {
	return slices.IndexFunc(c.waiters, func(w waiting) bool { return w.requester == pid })
}

// info describes the lock (its grant, for a reply).
func (c *lockCore) info() LockInfo {
	l := LockInfo{Holder: c.holder, Count: c.count, Token: c.token, LastToken: c.last, Waiters: []Waiter{}}
	for _, w := range c.waiters {
		l.Waiters = append(l.Waiters, Waiter{Requester: w.requester, Since: w.since})
	}
	return l
}

// release undoes one SetLock of requester; at zero the lock goes to the
// first waiter whose deadline has not passed.
func (c *lockCore) release(requester node.PID, now time.Time, next func() uint64) (bool, []answer) {
	if c.holder != requester || c.holder.IsZero() {
		return false, nil
	}
	if c.count--; c.count > 0 {
		return true, nil
	}
	return true, c.free(now, next)
}

// free clears the holder and grants the lock to the next live waiter.
func (c *lockCore) free(now time.Time, next func() uint64) []answer {
	c.holder, c.count, c.token, c.reqID = node.PID{}, 0, 0, 0
	out := c.expire(now)
	if len(c.waiters) > 0 {
		w := c.waiters[0]
		c.waiters = c.waiters[1:]
		c.grant(w, next)
		out = append(out, answer{handle: w.handle, status: stOK, lock: c.info(), waited: now.Sub(w.since)})
	}
	return out
}

// expire drops the waiters whose deadline has passed, answering them
// timeout.
func (c *lockCore) expire(now time.Time) []answer {
	var out []answer
	c.waiters = slices.DeleteFunc(c.waiters, func(w waiting) bool {
		gone := !w.deadline.IsZero() && !now.Before(w.deadline)
		if gone {
			out = append(out, answer{handle: w.handle, status: stTimeout})
		}
		return gone
	})
	return out
}

// cancel withdraws request reqID of requester: a waiter leaves the queue
// (answered busy); a grant made by that very request is released once.
func (c *lockCore) cancel(requester node.PID, reqID uint64, now time.Time, next func() uint64) []answer {
	if i := c.waiterIndex(requester); i >= 0 && c.waiters[i].reqID == reqID {
		a := answer{handle: c.waiters[i].handle, status: stBusy}
		c.waiters = slices.Delete(c.waiters, i, i+1)
		return []answer{a}
	}
	if c.holder == requester && c.reqID == reqID {
		c.reqID = 0
		_, out := c.release(requester, now, next)
		return out
	}
	return nil
}

// down handles the death of pid (or the loss of its node): it leaves the
// queue, and if it held the lock, the lock goes to the next waiter.
func (c *lockCore) down(pid node.PID, now time.Time, next func() uint64) []answer {
	var out []answer
	if i := c.waiterIndex(pid); i >= 0 {
		out = append(out, answer{handle: c.waiters[i].handle, status: stBusy})
		c.waiters = slices.Delete(c.waiters, i, i+1)
	}
	if c.holder == pid && !pid.IsZero() {
		out = append(out, c.free(now, next)...)
	}
	return out
}

// claim folds in a holder that another node reports (after a view change,
// a crash of the authority, or a heal). A free lock adopts it; a lock held
// by another keeps the larger token, the other holder is the loser (its
// token is one a fenced resource refuses anyway). The token source learns
// the claimed token either way.
func (c *lockCore) claim(holder node.PID, token uint64, count int) (adopted bool, loser node.PID, loserToken uint64) {
	c.last = max(c.last, token)
	switch {
	case holder.IsZero() || count < 1:
		return false, node.PID{}, 0
	case c.holder.IsZero():
		c.holder, c.token, c.count, c.reqID = holder, token, count, 0
		c.waiters = slices.DeleteFunc(c.waiters, func(w waiting) bool { return w.requester == holder })
		return true, node.PID{}, 0
	case c.holder == holder:
		c.token = max(c.token, token)
		return false, node.PID{}, 0
	case token > c.token:
		loser, loserToken = c.holder, c.token
		c.holder, c.token, c.count, c.reqID = holder, token, count, 0
		return true, loser, loserToken
	}
	return false, holder, token
}

// idle reports whether the lock has nothing to guard.
func (c *lockCore) idle() bool { return c.holder.IsZero() && len(c.waiters) == 0 }

// nextDeadline is the earliest waiter deadline (zero if none).
func (c *lockCore) nextDeadline() time.Time {
	var d time.Time
	for _, w := range c.waiters {
		if !w.deadline.IsZero() && (d.IsZero() || w.deadline.Before(d)) {
			d = w.deadline
		}
	}
	return d
}
