package pg

import (
	"context"
	"errors"
	"fmt"

	"github.com/placerhq/placer/node"
)

// Publish sends payload to every member of group, each process once
// however often it joined, as node.Send does: at most once, dropped
// silently for a member that has just exited. It returns the failures to
// hand a message over (node.ErrNoConnection, ...), joined.
func (s *Scope) Publish(group string, payload []byte) error {
	var errs []error
	for _, p := range unique(s.Members(group)) {
		if err := s.n.Send(p, payload); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", p, err))
		}
	}
	return errors.Join(errs...)
}

// MultiCall calls every member of group in parallel with req, each process
// once, and returns the replies and the failures by member (node.ErrNoProc,
// node.ErrNoConnection, node.ErrTimeout, a handler's error...). ctx bounds
// the whole; without a deadline the node's CallTimeout applies.
func (s *Scope) MultiCall(ctx context.Context, group string, req []byte) (map[node.PID][]byte, map[node.PID]error) {
	if ctx == nil {
		ctx = context.Background()
	}
	deadline, _ := ctx.Deadline()
	pids := unique(s.Members(group))
	type result struct {
		pid node.PID
		out []byte
		err error
	}
	ch := make(chan result, len(pids)) // late replies land here and are dropped with it
	for _, p := range pids {
		s.n.CallAsync(p, req, deadline, func(out []byte, err error) { ch <- result{p, out, err} })
	}
	replies, bad := map[node.PID][]byte{}, map[node.PID]error{}
	for range pids {
		select {
		case r := <-ch:
			if r.err != nil {
				bad[r.pid] = r.err
			} else {
				replies[r.pid] = r.out
			}
		case <-ctx.Done():
			timeoutRest(pids, replies, bad, ctx.Err())
			return replies, bad
		}
	}
	return replies, bad
}

// timeoutRest fails every member without an answer yet with ErrTimeout.
func timeoutRest(pids []node.PID, replies map[node.PID][]byte, bad map[node.PID]error, cause error) {
	for _, p := range pids {
		_, ok := replies[p]
		if _, failed := bad[p]; !ok && !failed {
			bad[p] = fmt.Errorf("%w: multicall: %w", node.ErrTimeout, cause)
		}
	}
}

// unique drops repeats, keeping the first occurrence of each PID.
func unique(pids []node.PID) []node.PID {
	seen := make(map[node.PID]struct{}, len(pids))
	out := pids[:0]
	for _, p := range pids {
		if _, dup := seen[p]; !dup {
			seen[p] = struct{}{}
			out = append(out, p)
		}
	}
	return out
}
