package global

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/placerhq/placer/internal/poll"
	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/placement"
)

// defaultTimeout bounds an operation whose ctx has no deadline (the node's
// default CallTimeout).
const defaultTimeout = 5 * time.Second

// Retry backoff while an authority moves or views converge.
const (
	retryFirst = time.Millisecond
	retryMax   = 50 * time.Millisecond
)

// bound gives ctx a deadline if it has none.
func bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, defaultTimeout)
}

// ask sends q to the authority of id (a keyed process of kind, routed to
// the id's owner) and returns its answer. It retries while the answer
// cannot be had yet: the authority is moving or its node does not own the
// id in its view (views are converging), the process had just exited, the
// owner is out of reach while the view changes; and, if idempotent, a
// connection lost during the call. It gives up when ctx ends.
func (s *Service) ask(ctx context.Context, kind, id string, q request, k replyKind, idempotent bool) (reply, error) {
	c := s.c()
	if c == nil {
		return reply{}, ErrNotStarted
	}
	ctx, cancel := bound(ctx)
	defer cancel()
	for back := retryFirst; ; back = min(2*back, retryMax) {
		p, err := s.askOnce(ctx, c, kind, id, q, k)
		if err == nil || !retryable(err, idempotent) {
			return p, err
		}
		if !poll.Sleep(ctx, back) {
			return p, fmt.Errorf("%w: %w", node.ErrTimeout, err)
		}
	}
}

func (s *Service) askOnce(ctx context.Context, c *placement.Cluster, kind, id string, q request, k replyKind) (reply, error) {
	q.hlc = s.clock.now()
	b, err := c.Call(ctx, kind, id, q.encode())
	if err != nil {
		return reply{}, err
	}
	p, err := decodeReply(b, k)
	if err != nil {
		return p, err
	}
	s.clock.observe(p.hlc)
	if p.status == stMoved {
		return p, ErrNotOwner
	}
	return p, nil
}

// retryable: errors of a moment of change, not of the request.
func retryable(err error, idempotent bool) bool {
	switch {
	case errors.Is(err, node.ErrTimeout):
		return false
	case errors.Is(err, ErrNotOwner), errors.Is(err, placement.ErrNotOwner), errors.Is(err, node.ErrNoProc),
		errors.Is(err, placement.ErrBusy):
		return true
	}
	return idempotent && errors.Is(err, node.ErrNoConnection)
}

// statusErr is the error of a reply status other than ok.
func statusErr(p reply, id string) error {
	switch p.status {
	case stNotRegistered:
		return fmt.Errorf("%w: %q", ErrNotRegistered, id)
	case stBusy:
		return fmt.Errorf("%w: %q", ErrLockBusy, id)
	case stTimeout:
		return fmt.Errorf("%w: %q", ErrLockTimeout, id)
	case stNotHeld:
		return fmt.Errorf("%w: %q", ErrNotHeld, id)
	case stNoQuorum:
		return fmt.Errorf("global: %q: %w", id, placement.ErrNoQuorum)
	case stMoved:
		return fmt.Errorf("%w: %q", ErrNotOwner, id)
	}
	return fmt.Errorf("%w: %q: status %d %s", ErrBadMessage, id, p.status, p.text)
}

// TakenError is RegisterName's `no`: the name is held by Holder. It
// matches ErrNameTaken with errors.Is.
type TakenError struct {
	Name   string
	Holder node.PID
}

func (e *TakenError) Error() string {
	return fmt.Sprintf("global: name %q taken by %s", e.Name, e.Holder)
}

// Is makes errors.Is(err, ErrNameTaken) true.
func (e *TakenError) Is(target error) bool { return target == ErrNameTaken }

// decode decodes a request to an authority, learns its clock and counts
// one that does not decode.
func (s *Service) decode(b []byte) (request, error) {
	q, err := decodeRequest(b)
	if err != nil {
		s.stats.bad.Add(1)
		return q, err
	}
	s.clock.observe(q.hlc)
	return q, nil
}

// checkIDPID refuses an invalid id, a service not started, and a PID that
// is not a process's.
func (s *Service) checkIDPID(id string, pid node.PID) error {
	if err := checkName(id); err != nil {
		return err
	}
	switch {
	case s.c() == nil:
		return ErrNotStarted
	case pid.IsZero() || pid.ID == 0:
		return fmt.Errorf("%w: %v", ErrBadPID, pid)
	}
	return nil
}
