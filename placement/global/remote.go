package global

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/placerhq/placer/node"
)

// RPCClient is what Remote needs of a hidden node: a placement.Client has
// it (its RPC runs the function on an agent, or through it on another
// member).
type RPCClient interface {
	RPC(ctx context.Context, target, fn string, args []byte) ([]byte, error)
	Node() *node.Node
}

// Remote uses a cluster's global names and locks from a hidden node (the
// placer CLI) through an agent's admin rpc functions (RPCNames and
// friends); each method is one rpc. Errors come back as the agent's text
// (placement.RemoteError), with node and placement sentinels intact.
type Remote struct{ cl RPCClient }

// NewRemote returns a Remote that goes through cl.
func NewRemote(cl RPCClient) *Remote { return &Remote{cl: cl} }

// remoteCall runs rpc fn on the agent with a, decoding its result.
func remoteCall[A, R any](ctx context.Context, r *Remote, fn string, a A) (R, error) {
	var zero R
	args, err := node.Encode(r.cl.Node(), a)
	if err != nil {
		return zero, err
	}
	b, err := r.cl.RPC(ctx, "", fn, args)
	if err != nil {
		return zero, err
	}
	return node.Decode[R](r.cl.Node(), b)
}

// Names lists the live names in the agent's replica.
func (r *Remote) Names(ctx context.Context) ([]NameInfo, error) {
	return remoteCall[struct{}, []NameInfo](ctx, r, RPCNames, struct{}{})
}

// Whereis returns the holder of name (the agent's replica, else the name's
// authority).
func (r *Remote) Whereis(ctx context.Context, name string) (NameInfo, error) {
	return remoteCall[string, NameInfo](ctx, r, RPCWhereis, name)
}

// Send sends payload to the holder of name.
func (r *Remote) Send(ctx context.Context, name string, payload []byte) error {
	_, err := remoteCall[SendArgs, struct{}](ctx, r, RPCSend, SendArgs{Name: name, Payload: payload})
	return err
}

// Call calls the holder of name.
func (r *Remote) Call(ctx context.Context, name string, req []byte) ([]byte, error) {
	return remoteCall[SendArgs, []byte](ctx, r, RPCCall, SendArgs{Name: name, Payload: req})
}

// Unregister ends the registration of name.
func (r *Remote) Unregister(ctx context.Context, name string) error {
	_, err := remoteCall[string, struct{}](ctx, r, RPCUnregister, name)
	return err
}

// Start starts a process of a.Kind on a.Node (the agent if empty) under
// the global name a.Name.
func (r *Remote) Start(ctx context.Context, a StartArgs) (node.PID, error) {
	return remoteCall[StartArgs, node.PID](ctx, r, RPCStart, a)
}

// Locks lists every lock with an authority on a ring member.
func (r *Remote) Locks(ctx context.Context) ([]LockInfo, error) {
	return remoteCall[bool, []LockInfo](ctx, r, RPCLocks, true)
}

// LockStatus asks lock id's authority for its holder, token and waiters.
func (r *Remote) LockStatus(ctx context.Context, id string) (LockInfo, error) {
	return remoteCall[string, LockInfo](ctx, r, RPCLockStatus, id)
}

// Stats returns the agent's figures.
func (r *Remote) Stats(ctx context.Context) (Stats, error) {
	return remoteCall[struct{}, Stats](ctx, r, RPCStats, struct{}{})
}

// RemoteLock is a lock a hidden node holds through a lock session on an
// agent (RPCLockAcquire): the session holds it for an inbox of the hidden
// node, and releases it when that inbox closes or its node goes away.
type RemoteLock struct {
	ID      string
	Token   uint64   // the grant's fencing token
	Session node.PID // the process holding the lock on the agent

	r    *Remote
	ib   *node.Inbox
	lost chan node.Reason
	done chan struct{}
	once sync.Once
}

// Lock takes lock id through the agent, waiting up to wait (Forever: until
// ctx ends; 0: not at all).
func (r *Remote) Lock(ctx context.Context, id string, wait time.Duration) (*RemoteLock, error) {
	if err := checkName(id); err != nil {
		return nil, err
	}
	ib, err := r.cl.Node().NewInbox()
	if err != nil {
		return nil, err
	}
	waitMS := wait.Milliseconds()
	if wait < 0 {
		waitMS = -1
	}
	s, err := remoteCall[LockAcquireArgs, LockSession](ctx, r, RPCLockAcquire, LockAcquireArgs{ID: id, Watcher: ib.Self(), WaitMS: waitMS})
	if err != nil {
		ib.Close()
		return nil, err
	}
	l := &RemoteLock{ID: id, Token: s.Token, Session: s.Session, r: r, ib: ib, lost: make(chan node.Reason, 1), done: make(chan struct{})}
	ref := ib.Monitor(s.Session)
	go l.watch(ref)
	return l, nil
}

// watch waits for the session's DOWN (the lock is lost) until Release
// closes the inbox.
func (l *RemoteLock) watch(ref node.Ref) {
	defer close(l.done)
	for {
		m, err := l.ib.Receive(context.Background())
		if err != nil {
			return
		}
		if d, ok := m.(node.Down); ok && d.Ref == ref {
			l.lost <- d.Reason
			return
		}
	}
}

// Lost delivers the reason the session ended, if it ends before Release.
func (l *RemoteLock) Lost() <-chan node.Reason { return l.lost }

// Release releases the lock and ends the session. Idempotent.
func (l *RemoteLock) Release(ctx context.Context) error {
	var err error
	l.once.Do(func() {
		_, err = remoteCall[LockReleaseArgs, struct{}](ctx, l.r, RPCLockRelease, LockReleaseArgs{ID: l.ID, Session: l.Session})
		l.ib.Close()
		<-l.done
	})
	return err
}

// LostError is the error of a lock lost for reason r (from Lost).
func (l *RemoteLock) LostError(r node.Reason) error {
	return fmt.Errorf("%w: %q (session %v: %s)", ErrLockLost, l.ID, l.Session, r)
}
