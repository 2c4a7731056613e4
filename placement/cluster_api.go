package placement

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/placerhq/placer/internal/poll"
	"github.com/placerhq/placer/node"
)

// Send sends msg to the process for {kind, key}, started on the key's
// owner if it is not running (the receiver sees a zero From). Like a node
// send it is at most once and does not wait for delivery; messages from
// one goroutine to one key arrive in order, also across a handoff. It
// returns an error only when the message could not be handed over (the
// owner is unreachable, no quorum, no members); a message that a node on
// the way cannot deliver is counted in that node's Stats.Dropped. If the
// owner was unreachable and the view changed meanwhile, Send retries once.
func (c *Cluster) Send(ctx context.Context, kind, key string, msg []byte) error {
	return c.SendFrom(ctx, node.PID{}, kind, key, msg)
}

// SendFrom is Send with an explicit sender: the process sees From = from
// (use the sending process's Self so that it can answer).
func (c *Cluster) SendFrom(ctx context.Context, from node.PID, kind, key string, msg []byte) error {
	if err := checkRequest(ctx, kind, key); err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		s, owner, err := c.pick(key)
		if err != nil {
			return err
		}
		req := c.newReq(s, opSend, kind, key, from, msg)
		err = c.node.SendFrom(c.selfPID, node.Named{Name: routeService, Node: owner}, req.encode())
		if err == nil || attempt > 0 || !c.retryable(err, s) {
			return wrapNode(err)
		}
	}
}

// Call calls the process for {kind, key} (started on the key's owner if
// it is not running) and returns its reply. The process sees the routing
// node as the caller. Errors: the process's (node.ErrNoProc,
// node.ErrMailboxFull, node.ErrTimeout, node.ErrHandler), node.ErrNoConnection,
// and ErrNotOwner, ErrNoQuorum, ErrBusy, ErrUnknownKind, ErrStart,
// ErrNoMembers. On ErrNotOwner or ErrNoConnection with a view that changed
// meanwhile it retries once (a call cut off by a dying owner may then run
// twice, once on each incarnation of the key). An owner whose own view has
// no members yet (it is starting) is asked again for up to a second.
func (c *Cluster) Call(ctx context.Context, kind, key string, req []byte) ([]byte, error) {
	return c.request(ctx, opCall, kind, key, req)
}

// EnsureProcess starts the process for {kind, key} on its owner if it is
// not running, and returns its PID.
func (c *Cluster) EnsureProcess(ctx context.Context, kind, key string) (node.PID, error) {
	out, err := c.request(ctx, opEnsure, kind, key, nil)
	if err != nil {
		return node.PID{}, err
	}
	return decodePID(out)
}

// Whereis returns the PID of the process for {kind, key} on its owner,
// or ErrNoProcess if none runs (it starts nothing).
func (c *Cluster) Whereis(ctx context.Context, kind, key string) (node.PID, error) {
	out, err := c.request(ctx, opWhereis, kind, key, nil)
	if err != nil {
		return node.PID{}, err
	}
	return decodePID(out)
}

// request routes a call-like request to the key's owner.
func (c *Cluster) request(ctx context.Context, op uint8, kind, key string, payload []byte) ([]byte, error) {
	if err := checkRequest(ctx, kind, key); err != nil {
		return nil, err
	}
	start := time.Now()
	defer func() { c.calls.observe(time.Since(start)) }()
	waited := time.Duration(0)
	for attempt := 0; ; {
		s, owner, err := c.pick(key)
		if err != nil {
			return nil, err
		}
		req := c.newReq(s, op, kind, key, node.PID{}, payload)
		resp, err := c.node.Call(ctx, node.Named{Name: routeService, Node: owner}, req.encode())
		if err == nil {
			if len(resp) == 0 {
				return nil, fmt.Errorf("%w: empty reply", ErrBadRequest)
			}
			if resp[0] == stOK {
				return resp[1:], nil
			}
			err = routeError(resp[0], resp[1:])
		}
		if errors.Is(err, ErrNoMembers) && waited < noViewWait {
			// This node's view has members (pick found an owner), the
			// owner's has none yet: it is starting, already in our view (an
			// agent restarted under the same name). Nothing ran there: ask
			// again once its view has had a moment to arrive.
			d := min(max(waited, time.Millisecond), noViewWait-waited)
			if !poll.Sleep(ctx, d) || c.isClosing() {
				return nil, wrapNode(err)
			}
			waited += d
			continue
		}
		if attempt > 0 || !c.retryable(err, s) {
			return nil, wrapNode(nameKind(err, kind))
		}
		attempt++
	}
}

// noViewWait bounds how long a request waits, in all, for an owner that
// answered that its view has no members yet (a node that is starting).
const noViewWait = time.Second

// nameKind adds the kind to an ErrUnknownKind from the owner, whose reply
// carries only the status code.
func nameKind(err error, kind string) error {
	if errors.Is(err, ErrUnknownKind) {
		return fmt.Errorf("%w: %q", err, kind)
	}
	return err
}

// pick returns the current view and the key's owner in it.
func (c *Cluster) pick(key string) (*snapshot, string, error) {
	if c.isClosing() {
		return nil, "", ErrShutdown
	}
	s := c.snap.Load()
	if c.cfg.Quorum && !s.quorum {
		c.stats.noQuorum.Add(1)
		return nil, "", ErrNoQuorum
	}
	owner := s.owner(key)
	if owner == "" {
		return nil, "", ErrNoMembers
	}
	return s, owner, nil
}

func (c *Cluster) newReq(s *snapshot, op uint8, kind, key string, from node.PID, payload []byte) routeReq {
	return routeReq{
		op: op, epoch: s.view.Epoch, checksum: s.view.Checksum,
		kind: kind, key: key, from: from, payload: payload,
	}
}

// retryable: the request did not reach an owner, and the view changed
// since it was sent.
func (c *Cluster) retryable(err error, sent *snapshot) bool {
	if !errors.Is(err, node.ErrNoConnection) && !errors.Is(err, ErrNotOwner) {
		return false
	}
	return c.snap.Load().view.Epoch != sent.view.Epoch
}

// checkRequest validates the arguments of a routed request.
func checkRequest(ctx context.Context, kind, key string) error {
	if err := checkKey("kind", kind); err != nil {
		return err
	}
	if err := checkKey("key", key); err != nil {
		return err
	}
	return ctx.Err()
}

// checkKey checks a kind or key a caller passes: checkName's rules, and
// valid UTF-8. Kinds and keys cross JSON (the Client, the CLI, the HTTP
// API), which turns invalid UTF-8 into U+FFFD and so would merge distinct
// keys into one process; they are refused instead (docs/placement.md).
func checkKey(what, s string) error {
	if err := checkName(what, s); err != nil {
		return err
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%w: %s %q is not valid UTF-8", ErrBadKey, what, s)
	}
	return nil
}

// wrapNode maps node.ErrShutdown to ErrShutdown (keeping both).
func wrapNode(err error) error {
	if err != nil && errors.Is(err, node.ErrShutdown) && !errors.Is(err, ErrShutdown) {
		return fmt.Errorf("%w: %w", ErrShutdown, err)
	}
	return err
}

// SendT encodes v with the node's codec and sends it to {kind, key}.
func SendT[T any](ctx context.Context, c *Cluster, kind, key string, v T) error {
	b, err := node.Encode(c.node, v)
	if err != nil {
		return err
	}
	return c.Send(ctx, kind, key, b)
}

// CallT encodes req with the node's codec, calls {kind, key} and decodes
// the reply.
func CallT[Req, Resp any](ctx context.Context, c *Cluster, kind, key string, req Req) (Resp, error) {
	var zero Resp
	b, err := node.Encode(c.node, req)
	if err != nil {
		return zero, err
	}
	out, err := c.Call(ctx, kind, key, b)
	if err != nil {
		return zero, err
	}
	return node.Decode[Resp](c.node, out)
}
