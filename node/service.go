package node

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// Service is a handler registered under a name (RegisterService) that is
// not a process: casts and calls to the name run inline on the delivering
// goroutine — the transport reader for remote frames, the sender's
// goroutine for local sends — so messages routed through a service keep
// their per-sender order and cost no goroutine hop. Both methods must not
// block: hand long work to a goroutine or a process. A call must be
// answered exactly once through reply, from any goroutine, now or later
// (later replies after the caller's deadline are dropped). A panic is
// recovered and logged; a call that panicked is answered with ErrHandler.
type Service interface {
	HandleCast(from PID, payload []byte)
	HandleCall(from PID, req []byte, deadline time.Time, reply ReplyFunc)
}

// ServiceFuncs adapts two functions to a Service; a nil Cast ignores casts,
// a nil Call answers calls with ErrBadArg.
type ServiceFuncs struct {
	Cast func(from PID, payload []byte)
	Call func(from PID, req []byte, deadline time.Time, reply ReplyFunc)
}

// HandleCast calls s.Cast.
func (s ServiceFuncs) HandleCast(from PID, payload []byte) {
	if s.Cast != nil {
		s.Cast(from, payload)
	}
}

// HandleCall calls s.Call.
func (s ServiceFuncs) HandleCall(from PID, req []byte, deadline time.Time, reply ReplyFunc) {
	if s.Call == nil {
		reply(nil, fmt.Errorf("%w: service takes no calls", ErrBadArg))
		return
	}
	s.Call(from, req, deadline, reply)
}

// RegisterService registers s under name; names are shared with registered
// processes (ErrNameTaken).
func (n *Node) RegisterService(name string, s Service) error {
	if name == "" || s == nil {
		return fmt.Errorf("%w: service needs a name and a handler", ErrBadArg)
	}
	n.regMu.Lock()
	defer n.regMu.Unlock()
	if err := n.nameFreeLocked(name); err != nil {
		return err
	}
	n.services[name] = s
	return nil
}

// UnregisterService removes the service registered as name.
func (n *Node) UnregisterService(name string) {
	n.regMu.Lock()
	defer n.regMu.Unlock()
	delete(n.services, name)
}

func (n *Node) service(name string) Service {
	n.regMu.RLock()
	defer n.regMu.RUnlock()
	return n.services[name]
}

func (n *Node) castService(name string, s Service, from PID, payload []byte) {
	defer n.recoverService(name, nil)
	s.HandleCast(from, payload)
}

func (n *Node) callService(name string, s Service, from PID, ref uint64, req []byte, deadline time.Time) {
	reply := once(func(resp []byte, err error) { n.reply(PID{}, from, ref, resp, err) })
	defer n.recoverService(name, reply)
	s.HandleCall(from, req, deadline, reply)
}

func (n *Node) recoverService(name string, reply ReplyFunc) {
	v := recover()
	if v == nil {
		return
	}
	err := fmt.Errorf("%w: service %s panicked: %v", ErrHandler, name, v)
	n.warns.Warn("service-panic:"+name, "service panicked", func(ev *zerolog.Event) *zerolog.Event { return ev.Str("service", name).Err(err) })
	if reply != nil {
		reply(nil, err)
	}
}

// RPCService is the name of the service that runs rpc functions (Erlang's
// rex).
const RPCService = "rex"

// RPC runs the rpc function fn on node with args and returns its result
// (:rpc.call/4); ctx (or Config.CallTimeout) bounds the wait and is the
// function's deadline. Errors: ErrUnknownRPC, ErrBusy, ErrNoConnection,
// ErrTimeout, ErrShutdown, or the function's error wrapped in ErrHandler.
func (n *Node) RPC(ctx context.Context, node, fn string, args []byte) ([]byte, error) {
	return n.call(ctx, n.callerPID(), Named{Name: RPCService, Node: node}, encodeRPC(fn, args))
}

// MultiCall runs fn with args on every node in parallel (:rpc.multicall):
// results by node, and the bad nodes with their errors. ctx bounds the
// whole.
func (n *Node) MultiCall(ctx context.Context, nodes []string, fn string, args []byte) (map[string][]byte, map[string]error) {
	req := encodeRPC(fn, args)
	return n.multiCall(ctx, nodes, func(node string) Dest { return Named{Name: RPCService, Node: node} }, req)
}

// MultiCallName calls the process or service registered as name on every
// node in parallel (GenServer.multi_call/4): replies by node, and the bad
// nodes (no such name, unreachable, handler error, timeout) with their
// errors.
func (n *Node) MultiCallName(ctx context.Context, nodes []string, name string, req []byte) (map[string][]byte, map[string]error) {
	return n.multiCall(ctx, nodes, func(node string) Dest { return Named{Name: name, Node: node} }, req)
}

func (n *Node) multiCall(ctx context.Context, nodes []string, dest func(string) Dest, req []byte) (map[string][]byte, map[string]error) {
	if ctx == nil {
		ctx = context.Background()
	}
	deadline := n.deadline(ctx)
	replies, bad := map[string][]byte{}, map[string]error{}
	pcs := make(map[string]*pendingCall, len(nodes))
	for _, node := range nodes {
		pc, err := n.startCall(ctx, deadline, n.callerPID(), dest(node), req, nil)
		if err != nil {
			bad[node] = err
			continue
		}
		pcs[node] = pc
	}
	for node, pc := range pcs {
		out, err := n.calls.wait(ctx, deadline, pc)
		if err != nil {
			bad[node] = err
			continue
		}
		replies[node] = out
	}
	return replies, bad
}

// Abcast sends payload to the process or service registered as name on
// each node (GenServer.abcast/3). Like Send it reports only failures to
// hand the message over, joined.
func (n *Node) Abcast(nodes []string, name string, payload []byte) error {
	var errs []error
	for _, node := range nodes {
		if err := n.send(PID{}, Named{Name: name, Node: node}, payload); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// rpc request payload: uvarint len, function name, then the args.
func encodeRPC(fn string, args []byte) []byte {
	b := make([]byte, 0, binary.MaxVarintLen32+len(fn)+len(args))
	b = appendBytes(b, []byte(fn))
	return append(b, args...)
}

func decodeRPC(b []byte) (string, []byte, error) {
	fn, args, err := readBytes(b)
	return string(fn), args, err
}

// rex is the rpc service.
type rex struct{ n *Node }

func (r rex) HandleCast(from PID, payload []byte) {
	r.n.log.Debug().Str("from", from.String()).Msg("rex ignores casts")
}

func (r rex) HandleCall(from PID, req []byte, deadline time.Time, reply ReplyFunc) {
	n := r.n
	name, args, err := decodeRPC(req)
	if err != nil {
		reply(nil, err)
		return
	}
	fn := n.rpcFunc(name)
	if fn == nil {
		reply(nil, fmt.Errorf("%w: %q on %s", ErrUnknownRPC, name, n.name))
		return
	}
	select {
	case n.rpcSem <- struct{}{}:
	default:
		reply(nil, fmt.Errorf("%w: %d rpcs running on %s", ErrBusy, cap(n.rpcSem), n.name))
		return
	}
	args = append([]byte(nil), args...)
	if !n.goTracked(func() { r.run(fn, name, args, deadline, reply) }) {
		<-n.rpcSem
		reply(nil, fmt.Errorf("%w: %s", ErrShutdown, n.name))
	}
}

func (r rex) run(fn RPCFunc, name string, args []byte, deadline time.Time, reply ReplyFunc) {
	n := r.n
	// The slot is free before the reply leaves, so a caller that waits for
	// each reply never finds it taken by its own previous rpc.
	release := sync.OnceFunc(func() { <-n.rpcSem })
	defer release()
	send := reply
	reply = func(out []byte, err error) { release(); send(out, err) }
	if deadline.IsZero() {
		deadline = time.Now().Add(n.cfg.CallTimeout)
	}
	ctx, cancel := context.WithDeadline(n.ctx, deadline)
	defer cancel()
	defer n.recoverService(RPCService+":"+name, reply)
	out, err := fn(ctx, args)
	switch {
	case err == nil || ctx.Err() == nil || !errors.Is(err, ctx.Err()):
	case n.ctx.Err() != nil:
		err = fmt.Errorf("%w: rpc %s cancelled: %w", ErrShutdown, name, err)
	default:
		err = fmt.Errorf("%w: rpc %s: %w", ErrTimeout, name, err)
	}
	reply(out, err)
}
