package global

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/placerhq/placer/internal/poll"
	"github.com/placerhq/placer/node"
)

// Forever is a LockOpts.Timeout that waits until ctx ends.
const Forever time.Duration = -1

// maxWait bounds a wait Forever whose ctx has no deadline.
const maxWait = 24 * time.Hour

// waitGrace is how much longer the caller waits than the authority keeps
// it queued, so that the authority's timeout answer arrives first.
const waitGrace = time.Second

// LockOpts say how SetLock waits for a lock held by another requester.
type LockOpts struct {
	// Timeout is how long to wait in the lock's queue (first come, first
	// served): 0 does not wait, Forever waits until ctx ends.
	Timeout time.Duration
	// Retries, with Timeout 0, makes up to 1+Retries attempts with a
	// random backoff between them instead of queueing, as
	// :global.set_lock/3 does. Default 0.
	Retries int
}

// SetLock takes lock id for requester, a live process (or inbox) of this
// node (:global.set_lock({id, requester})). It returns the fencing token
// of the grant: strictly greater than every token granted before for id
// (docs/global.md states the guarantee across failures). The same
// requester may take it again: nested and counted, each SetLock undone by
// one DelLock; a nested SetLock returns the token it already holds. The
// lock is released when the requester exits or its node goes down.
// Errors: ErrLockBusy (held, not waiting), ErrLockTimeout, ErrNotLocal,
// ErrNoProc, ErrBadName, ErrBadPID, placement.ErrNoQuorum (LockQuorum on
// a minority side), node errors.
func (s *Service) SetLock(ctx context.Context, id string, requester node.PID, o LockOpts) (uint64, error) {
	if err := s.checkRequester(id, requester, true); err != nil {
		return 0, err
	}
	if o.Timeout == 0 && o.Retries > 0 {
		return s.acquireRetries(ctx, id, requester, o.Retries)
	}
	return s.acquire(ctx, id, requester, o.Timeout)
}

func (s *Service) checkRequester(id string, pid node.PID, alive bool) error {
	if err := s.checkIDPID(id, pid); err != nil {
		return err
	}
	switch {
	case pid.Node != s.name:
		return fmt.Errorf("%w: %v", ErrNotLocal, pid)
	case alive && !s.localAlive(pid):
		return fmt.Errorf("%w: %v: %w", ErrNoProc, pid, node.ErrNoProc)
	}
	return nil
}

// acquire queues at the authority for up to wait; if the answer cannot
// reach the caller (ctx ended, connection lost), the request is withdrawn
// (a grant it got is released).
func (s *Service) acquire(ctx context.Context, id string, pid node.PID, wait time.Duration) (uint64, error) {
	reqID := s.reqSeq.Add(1)
	ctx, cancel := waitCtx(ctx, wait)
	defer cancel()
	p, err := s.ask(ctx, KindLock, id, request{op: opAcquire, pid: pid, reqID: reqID, wait: wait}, replyGrant, true)
	if err != nil {
		s.withdraw(id, pid, reqID)
		return 0, err
	}
	if p.status != stOK {
		return 0, statusErr(p, id)
	}
	s.recordHeld(id, p.lock)
	return p.lock.Token, nil
}

// waitCtx bounds the call of a wait: the wait plus a grace, or (Forever)
// ctx's own deadline, at most maxWait.
func waitCtx(ctx context.Context, wait time.Duration) (context.Context, context.CancelFunc) {
	switch {
	case wait > 0:
		return context.WithTimeout(ctx, wait+waitGrace)
	case wait < 0:
		if _, ok := ctx.Deadline(); !ok {
			return context.WithTimeout(ctx, maxWait)
		}
	}
	return context.WithCancel(ctx)
}

// withdraw cancels request reqID at the authority (best effort).
func (s *Service) withdraw(id string, pid node.PID, reqID uint64) {
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.RecoverTimeout)
	defer cancel()
	_ = s.c().Send(ctx, KindLock, id, request{op: opCancel, hlc: s.clock.now(), pid: pid, reqID: reqID}.encode())
}

func (s *Service) acquireRetries(ctx context.Context, id string, pid node.PID, retries int) (uint64, error) {
	for i := 0; ; i++ {
		token, err := s.acquire(ctx, id, pid, 0)
		if !errors.Is(err, ErrLockBusy) || i >= retries {
			return token, err
		}
		backoff := time.Duration(rand.Int64N(int64(min(250*time.Millisecond, 8*time.Millisecond<<min(i, 5)))))
		if !poll.Sleep(ctx, backoff) {
			return 0, fmt.Errorf("%w: %q: %w", ErrLockBusy, id, ctx.Err())
		}
	}
}

// recordHeld remembers a grant to a local process (claimed to the next
// owner after a view change) and watches the process.
func (s *Service) recordHeld(id string, l LockInfo) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l.Holder.IsZero() || l.Count < 1 {
		delete(s.held, id)
		return
	}
	s.held[id] = heldLock{holder: l.Holder, token: l.Token, count: l.Count, authority: s.ownerOf(id)}
	if _, ok := s.heldRefs[l.Holder]; !ok && !s.closed {
		s.heldRefs[l.Holder] = s.watch.Monitor(l.Holder)
	}
}

// DelLock undoes one SetLock of requester (:global.del_lock); at zero the
// lock goes to the next waiter. ErrNotHeld if requester does not hold it.
func (s *Service) DelLock(ctx context.Context, id string, requester node.PID) error {
	if err := s.checkRequester(id, requester, false); err != nil {
		return err
	}
	p, err := s.ask(ctx, KindLock, id, request{op: opRelease, pid: requester}, replyGrant, false)
	if err != nil {
		return err
	}
	if p.status != stOK {
		if p.status == stNotHeld {
			s.dropHeld(id, requester)
		}
		return statusErr(p, id)
	}
	if p.lock.Holder != requester {
		p.lock = LockInfo{}
	}
	s.recordHeld(id, p.lock)
	return nil
}

// Trans runs fn while requester holds lock id (:global.trans), with the
// grant's fencing token, and releases it afterwards whatever fn returns.
// A zero requester uses a fresh inbox (so nested Trans of one goroutine
// need a requester). If the lock cannot be had, fn does not run and the
// error is SetLock's (ErrLockBusy is :global's aborted).
func (s *Service) Trans(ctx context.Context, id string, requester node.PID, fn func(token uint64) error, o LockOpts) error {
	if requester.IsZero() && s.Node() != nil {
		ib, err := s.Node().NewInbox()
		if err != nil {
			return err
		}
		defer ib.Close()
		requester = ib.Self()
	}
	token, err := s.SetLock(ctx, id, requester, o)
	if err != nil {
		return err
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), defaultTimeout)
		_ = s.DelLock(rctx, id, requester)
		cancel()
	}()
	return fn(token)
}

// LockStatus asks lock id's authority for its holder, token and waiters.
func (s *Service) LockStatus(ctx context.Context, id string) (LockInfo, error) {
	if err := checkName(id); err != nil {
		return LockInfo{}, err
	}
	p, err := s.ask(ctx, KindLock, id, request{op: opStatus}, replyLockInfo, true)
	if err != nil {
		return LockInfo{}, err
	}
	if p.status != stOK {
		return LockInfo{}, statusErr(p, id)
	}
	return p.lock, nil
}

// Locks lists the locks whose authority runs on this node, by id.
func (s *Service) Locks() []LockInfo {
	s.mu.Lock()
	out := make([]LockInfo, 0, len(s.locks))
	for _, l := range s.locks {
		out = append(out, l)
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b LockInfo) int { return strings.Compare(a.ID, b.ID) })
	return out
}
