package pg

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/placerhq/placer/node"
)

// Remote reaches a scope on another node with calls, for nodes that take
// no part in the exchange: a hidden node (the placer CLI) sees no group
// through its own scope, so it asks an agent's. Each method is one call
// round trip to that node.
type Remote struct {
	n     *node.Node
	peer  string
	scope string
}

// NewRemote returns a client of the scope named scope on node peer, called
// from n.
func NewRemote(n *node.Node, peer, scope string) *Remote {
	if scope == "" {
		scope = DefaultScope
	}
	return &Remote{n: n, peer: peer, scope: scope}
}

// Groups lists the remote scope's groups with their sizes, as its
// Scope.Groups.
func (r *Remote) Groups(ctx context.Context) ([]GroupInfo, error) {
	out, err := r.call(ctx, callReq{op: callGroups})
	if err != nil {
		return nil, err
	}
	return decodeGroups(out)
}

// Members lists group's members as the remote node sees them.
func (r *Remote) Members(ctx context.Context, group string) ([]node.PID, error) {
	if err := checkGroup(group); err != nil {
		return nil, err
	}
	out, err := r.call(ctx, callReq{op: callMembers, group: group})
	if err != nil {
		return nil, err
	}
	return decodeMembers(out)
}

// Join makes processes of the remote node join group there (they must be
// local to it, as for Scope.Join).
func (r *Remote) Join(ctx context.Context, group string, pids ...node.PID) error {
	return r.change(ctx, callJoin, group, pids)
}

// Leave makes processes of the remote node leave group there.
func (r *Remote) Leave(ctx context.Context, group string, pids ...node.PID) error {
	return r.change(ctx, callLeave, group, pids)
}

func (r *Remote) change(ctx context.Context, op uint8, group string, pids []node.PID) error {
	if err := checkGroup(group); err != nil {
		return err
	}
	_, err := r.call(ctx, callReq{op: op, group: group, pids: pids})
	return err
}

func (r *Remote) call(ctx context.Context, req callReq) ([]byte, error) {
	out, err := r.n.Call(ctx, node.Named{Name: ServiceName(r.scope), Node: r.peer}, req.encode())
	return out, remoteError(err)
}

// remoteErrors are the sentinels a scope's answer can carry; across the
// wire only their text survives, and remoteError restores them.
var remoteErrors = []error{ErrBadGroup, ErrNotLocal, ErrNoProc, ErrNotJoined, ErrClosed, ErrBadMessage}

func remoteError(err error) error {
	if err == nil {
		return nil
	}
	for _, s := range remoteErrors {
		if !errors.Is(err, s) && strings.Contains(err.Error(), s.Error()) {
			return fmt.Errorf("%w: %w", s, err)
		}
	}
	return err
}

// onCall answers a Remote's call, inline on the transport reader (every
// answer is a local read or a Join/Leave, which do not block).
func (s *Scope) onCall(_ node.PID, b []byte, _ time.Time, reply node.ReplyFunc) {
	req, err := decodeCallReq(b)
	if err != nil {
		s.stats.bad.Add(1)
		reply(nil, fmt.Errorf("%w: %w", node.ErrBadArg, err))
		return
	}
	switch req.op {
	case callGroups:
		reply(encodeGroups(s.Groups()), nil)
	case callMembers:
		reply(appendPIDs(nil, s.Members(req.group)), nil)
	case callJoin:
		reply(nil, s.Join(req.group, req.pids...))
	case callLeave:
		reply(nil, s.Leave(req.group, req.pids...))
	}
}
