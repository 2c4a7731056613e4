package global

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/placerhq/placer/node"
)

// Admin rpc functions Start registers on every node, so that a hidden node
// (the placer CLI, through placement.Client.RPC and Remote) can use the
// names and locks through any member. Arguments and results are encoded
// with the node's codec (JSON by default).
const (
	RPCNames       = "placer.global.names"        // → []NameInfo of the node's replica
	RPCWhereis     = "placer.global.whereis"      // name → NameInfo (the replica, else the authority)
	RPCSend        = "placer.global.send"         // SendArgs → nothing
	RPCCall        = "placer.global.call"         // SendArgs → the reply bytes
	RPCUnregister  = "placer.global.unregister"   // name → nothing
	RPCStart       = "placer.global.start"        // StartArgs → PID
	RPCLocks       = "placer.global.locks"        // all (bool) → []LockInfo (this node's authorities, or every member's)
	RPCLockStatus  = "placer.global.lock_status"  // id → LockInfo
	RPCLockAcquire = "placer.global.lock_acquire" // LockAcquireArgs → LockSession
	RPCLockRelease = "placer.global.lock_release" // LockReleaseArgs → nothing
	RPCStats       = "placer.global.stats"        // → Stats
)

// SendArgs are the arguments of RPCSend and RPCCall.
type SendArgs struct {
	Name    string `json:"name"`
	Payload []byte `json:"payload"`
}

// StartArgs are the arguments of RPCStart.
type StartArgs struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
	Node string `json:"node,omitempty"` // "" : the node that runs the rpc
	Args []byte `json:"args,omitempty"`
}

// LockAcquireArgs are the arguments of RPCLockAcquire: the node that runs
// it starts a lock session process (KindLockSession) that monitors
// Watcher and takes lock ID as its requester, waiting up to WaitMS
// milliseconds (< 0: until the call's deadline). When Watcher exits or its
// node goes away, the session exits and the lock is released: a hidden
// client holds a lock through it.
type LockAcquireArgs struct {
	ID      string   `json:"id"`
	Watcher node.PID `json:"watcher"`
	WaitMS  int64    `json:"wait_ms"`
}

// LockSession is RPCLockAcquire's result.
type LockSession struct {
	Session node.PID `json:"session"`
	Token   uint64   `json:"token"`
}

// LockReleaseArgs are the arguments of RPCLockRelease.
type LockReleaseArgs struct {
	ID      string   `json:"id"`
	Session node.PID `json:"session"`
}

func (s *Service) registerRPCs(n *node.Node) error {
	fns := map[string]node.RPCFunc{
		RPCNames:   rpcOf(s, func(ctx context.Context, _ struct{}) ([]NameInfo, error) { return s.Names(), nil }),
		RPCWhereis: rpcOf(s, s.whereisInfo),
		RPCSend: rpcOf(s, func(ctx context.Context, a SendArgs) (struct{}, error) {
			return struct{}{}, s.SendName(ctx, a.Name, a.Payload)
		}),
		RPCCall: rpcOf(s, func(ctx context.Context, a SendArgs) ([]byte, error) { return s.CallName(ctx, a.Name, a.Payload) }),
		RPCUnregister: rpcOf(s, func(ctx context.Context, name string) (struct{}, error) {
			return struct{}{}, s.UnregisterName(ctx, name)
		}),
		RPCStart:       rpcOf(s, s.startRPC),
		RPCLocks:       rpcOf(s, s.locksRPC),
		RPCLockStatus:  rpcOf(s, s.LockStatus),
		RPCLockAcquire: rpcOf(s, s.sessionAcquire),
		RPCLockRelease: rpcOf(s, s.sessionRelease),
		RPCStats:       rpcOf(s, func(context.Context, struct{}) (Stats, error) { return s.Stats(), nil }),
	}
	names := make([]string, 0, len(fns))
	for name := range fns {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if err := n.RegisterRPC(name, fns[name]); err != nil {
			return fmt.Errorf("global: %w", err)
		}
	}
	return nil
}

// rpcOf adapts a typed function to an rpc function with the node's codec;
// empty args decode as the zero value.
func rpcOf[A, R any](s *Service, f func(context.Context, A) (R, error)) node.RPCFunc {
	return func(ctx context.Context, args []byte) ([]byte, error) {
		var a A
		if len(args) > 0 {
			var err error
			if a, err = node.Decode[A](s.Node(), args); err != nil {
				return nil, fmt.Errorf("%w: %w", node.ErrBadArg, err)
			}
		}
		r, err := f(ctx, a)
		if err != nil {
			return nil, err
		}
		return node.Encode(s.Node(), r)
	}
}

// whereisInfo answers from the replica, else from the authority.
func (s *Service) whereisInfo(ctx context.Context, name string) (NameInfo, error) {
	if e, ok := s.tab.get(name); ok && e.rec.live() && !s.stale(e.rec.pid) {
		return NameInfo{Name: name, PID: e.rec.pid, Registered: HLCTime(e.rec.reg), Version: e.rec.version, Authority: e.authority}, nil
	}
	pid, err := s.ResolveName(ctx, name)
	if err != nil {
		return NameInfo{}, err
	}
	return NameInfo{Name: name, PID: pid, Authority: s.ownerOf(name)}, nil
}

func (s *Service) startRPC(ctx context.Context, a StartArgs) (node.PID, error) {
	return s.StartName(ctx, a.Name, a.Kind, StartOpts{Node: a.Node, Args: a.Args})
}

func (s *Service) locksRPC(ctx context.Context, all bool) ([]LockInfo, error) {
	if !all {
		return s.Locks(), nil
	}
	return s.AllLocks(ctx)
}

// AllLocks lists the locks of every ring member's authorities (one rpc per
// member, in parallel), by id. Members that did not answer are skipped.
func (s *Service) AllLocks(ctx context.Context) ([]LockInfo, error) {
	c := s.c()
	if c == nil {
		return nil, ErrNotStarted
	}
	var members []string
	for _, m := range c.View().Members {
		members = append(members, m.Name)
	}
	ctx, cancel := bound(ctx)
	defer cancel()
	all, err := node.Encode(c.Node(), false)
	if err != nil {
		return nil, err
	}
	res, _ := c.Node().MultiCall(ctx, members, RPCLocks, all)
	out := []LockInfo{}
	for _, b := range res {
		ls, err := node.Decode[[]LockInfo](c.Node(), b)
		if err == nil {
			out = append(out, ls...)
		}
	}
	slices.SortFunc(out, func(a, b LockInfo) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// sessionAcquire starts a lock session for a hidden client and takes the
// lock with it.
func (s *Service) sessionAcquire(ctx context.Context, a LockAcquireArgs) (LockSession, error) {
	if err := checkName(a.ID); err != nil {
		return LockSession{}, err
	}
	if a.Watcher.IsZero() || a.Watcher.ID == 0 {
		return LockSession{}, fmt.Errorf("%w: watcher %v", ErrBadPID, a.Watcher)
	}
	n := s.Node()
	sess, err := n.Spawn(ctx, KindLockSession, appendPID(nil, a.Watcher), node.SpawnOpts{})
	if err != nil {
		return LockSession{}, err
	}
	wait := time.Duration(a.WaitMS) * time.Millisecond
	if a.WaitMS < 0 {
		wait = Forever
	}
	token, err := s.SetLock(ctx, a.ID, sess, LockOpts{Timeout: wait})
	if err != nil {
		_ = n.Exit(sess, node.Reason{Kind: node.Shutdown})
		return LockSession{}, err
	}
	return LockSession{Session: sess, Token: token}, nil
}

// sessionRelease releases a session's lock and ends the session.
func (s *Service) sessionRelease(ctx context.Context, a LockReleaseArgs) (struct{}, error) {
	err := s.DelLock(ctx, a.ID, a.Session)
	if a.Session.Node == s.name && a.Session.ID != 0 {
		_ = s.Node().Exit(a.Session, node.Reason{Kind: node.Shutdown})
	}
	return struct{}{}, err
}

// session is a lock session: a process that holds locks for a hidden
// client's watcher, and ends when the watcher does (or its node goes
// away), or when it is told it lost a lock.
type session struct {
	node.Base
	watcher node.PID
}

func (s *Service) newSession() node.Behavior { return &session{} }

func (ss *session) Init(p *node.Proc, args []byte) error {
	r := reader{b: args}
	ss.watcher = r.pid()
	if err := r.end(); err != nil {
		return err
	}
	p.Monitor(ss.watcher)
	return nil
}

func (ss *session) HandleMessage(p *node.Proc, m node.Msg) {
	switch m := m.(type) {
	case node.Down:
		p.Exit(node.Reason{Kind: node.Normal})
	case node.Message:
		if l, ok := ParseLockLost(m.Payload); ok {
			p.Exit(node.Reason{Kind: node.Error, Err: fmt.Sprintf("lock %q lost to %v", l.ID, l.Winner)})
		}
	}
}
