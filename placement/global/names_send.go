package global

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/placerhq/placer/node"
)

// SendName sends payload to the holder of name (:global.send), at most
// once, from the node itself (zero From). The holder comes from the
// replica; an entry known to be stale (its process dead here, or its node
// gone from the view) is re-resolved through the authority first. An error
// matching ErrNoProc if no process holds the name.
func (s *Service) SendName(ctx context.Context, name string, payload []byte) error {
	pid, err := s.lookup(ctx, name)
	if err != nil {
		return err
	}
	return s.Node().Send(pid, payload)
}

// CallName calls the holder of name (GenServer.call({:global, name}, req)).
// A call that finds the holder dead (node.ErrNoProc) re-resolves the name
// through its authority and, if another process holds it now, calls that
// one; otherwise it fails with an error matching ErrNoProc.
func (s *Service) CallName(ctx context.Context, name string, req []byte) ([]byte, error) {
	pid, err := s.lookup(ctx, name)
	if err != nil {
		return nil, err
	}
	out, err := s.Node().Call(ctx, pid, req)
	if !errors.Is(err, node.ErrNoProc) {
		return out, err
	}
	if again, rerr := s.ResolveName(ctx, name); rerr == nil && again != pid {
		return s.Node().Call(ctx, again, req)
	}
	return nil, fmt.Errorf("%w: %q: %w", ErrNoProc, name, err)
}

// lookup returns name's holder: the replica's, unless it is known stale or
// missing, then the authority's.
func (s *Service) lookup(ctx context.Context, name string) (node.PID, error) {
	if err := checkName(name); err != nil {
		return node.PID{}, err
	}
	if s.c() == nil {
		return node.PID{}, ErrNotStarted
	}
	if pid, ok := s.WhereisName(name); ok && !s.stale(pid) {
		return pid, nil
	}
	return s.ResolveName(ctx, name)
}

// stale reports whether pid is known dead: a dead local process, or a node
// that is neither in the view nor connected (an authority may know it
// before the holder's DOWN reaches it).
func (s *Service) stale(pid node.PID) bool {
	if pid.Node == s.name {
		return !s.localAlive(pid)
	}
	return !s.known(pid.Node)
}

// StartOpts are the options of StartName.
type StartOpts struct {
	// Node is where the process starts. Default "": this node.
	Node string
	// Args are its Init args.
	Args []byte
}

// StartName starts a process of kind and registers it under the global
// name in one step (GenServer.start_link(..., name: {:global, name})). If
// the name is taken, the new process is killed and the error is a
// *TakenError naming the holder ({:error, {:already_started, pid}}).
func (s *Service) StartName(ctx context.Context, name, kind string, o StartOpts) (node.PID, error) {
	if err := checkName(name); err != nil {
		return node.PID{}, err
	}
	n := s.Node()
	if n == nil {
		return node.PID{}, ErrNotStarted
	}
	if o.Node == "" {
		o.Node = s.name
	}
	pid, err := n.SpawnOn(ctx, o.Node, kind, o.Args, node.SpawnOpts{})
	if err != nil {
		return node.PID{}, err
	}
	if err := s.RegisterName(ctx, name, pid); err != nil {
		_ = n.Exit(pid, node.Reason{Kind: node.Killed})
		return node.PID{}, err
	}
	return pid, nil
}

func sortNames(ns []NameInfo) {
	slices.SortFunc(ns, func(a, b NameInfo) int { return strings.Compare(a.Name, b.Name) })
}
