package placement

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/placerhq/placer/internal/goset"
	"github.com/placerhq/placer/internal/ratelog"
	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/placement/membership"
	"github.com/placerhq/placer/transport"
)

// AgentAddr names a cluster node a Client may talk to, and where its
// placer transport listens.
type AgentAddr struct {
	Name string // "name@host"
	Addr string // transport "host:port"; may be empty with ClientConfig.Transport
}

// ClientConfig configures a Client. Start from DefaultClientConfig (or a
// zero ClientConfig) and set Cookie and Agents.
//
// Zero values: a zero field means its documented default; NewClient
// rejects any other value out of range with an error wrapping ErrBadConfig
// that names the field. As in Config, the nested Node's fields that the
// Client sets itself must be left zero.
type ClientConfig struct {
	// Name is the client's hidden node name, "name@host". Default: a
	// random "client-<hex>@localhost", unique per Client.
	Name string
	// Cookie is the cluster secret (at least membership.MinCookieLen
	// bytes). Required. Never logged.
	Cookie []byte
	// Agents are the cluster nodes to talk to, in order of preference: the
	// Client uses the first it can reach and fails over to the next when
	// it cannot reach it. At least one is required.
	Agents []AgentAddr
	// TLS, if set, wraps the connections in mutual TLS (the agents must
	// use TLS too; see transport.TLSFromFiles). Default nil. Ignored when
	// Transport is set.
	TLS *tls.Config
	// Transport, if set, creates the client's wire instead of a dial-only
	// TCP endpoint: tests pass an in-memory transport. Default nil.
	Transport node.TransportFactory
	// Node holds the node runtime's tunables (Codec, CallTimeout, ...).
	// The Client owns Node.Name (leave it empty or equal to Name) and
	// Node.Transport (leave it nil: set Transport), and always makes the
	// node hidden; anything else is refused with ErrBadConfig. Node.Logger,
	// unless zero or disabled, is the node's logger instead of Logger. The
	// Codec must be the cluster's. Default node.DefaultConfig().
	Node node.Config
	// Discover makes every Members reply add the alive members it lists
	// (with their transport addresses) to the agents the client fails
	// over to, after the configured ones: a long-lived client then
	// survives the loss of every agent it was given. Default false: only
	// Agents are used.
	Discover bool
	// Resolve, if set, finds an agent's current transport address by name
	// (the names directory of placement/agent/names is one): when no agent
	// can be reached at its known address, each is looked up again, since
	// agents restarted on other ports (a rolling restart) would otherwise
	// be unreachable for good. Default nil.
	Resolve func(node string) (addr string, err error)
	// ConnectTimeout bounds one attempt to connect to one agent, so that
	// an unreachable agent costs at most this much before the next is
	// tried. Default (0) 2 s.
	ConnectTimeout time.Duration
	// Logger receives the client's logs (component "placement.client").
	// Default zerolog.Nop().
	Logger zerolog.Logger
}

// DefaultClientConfig returns a ClientConfig with the defaults filled in;
// Cookie and Agents must still be set.
func DefaultClientConfig() ClientConfig {
	return ClientConfig{Node: node.DefaultConfig(), ConnectTimeout: 2 * time.Second, Logger: zerolog.Nop()}
}

func (c *ClientConfig) validate() error {
	switch {
	case len(c.Cookie) < membership.MinCookieLen:
		return fmt.Errorf("%w: Cookie of %d bytes (at least %d)", ErrBadConfig, len(c.Cookie), membership.MinCookieLen)
	case len(c.Agents) == 0:
		return fmt.Errorf("%w: no Agents", ErrBadConfig)
	case c.ConnectTimeout < 0:
		return fmt.Errorf("%w: ConnectTimeout %v is negative (0 = default)", ErrBadConfig, c.ConnectTimeout)
	case c.Node.Name != "" && c.Node.Name != c.Name:
		return fmt.Errorf("%w: Node.Name %q differs from Name %q (leave it empty)", ErrBadConfig, c.Node.Name, c.Name)
	case c.Node.Transport != nil:
		return fmt.Errorf("%w: Node.Transport is set: use ClientConfig.Transport", ErrBadConfig)
	}
	for _, a := range c.Agents {
		if err := transport.ValidateName(a.Name); err != nil {
			return fmt.Errorf("%w: agent: %w", ErrBadConfig, err)
		}
	}
	if err := transport.ValidateName(c.Name); err != nil {
		return fmt.Errorf("%w: Name: %w", ErrBadConfig, err)
	}
	return nil
}

// Client is a hidden node that uses a placer cluster through its agents
// (any cluster node): it never joins Serf, never owns keys, and the
// agents list it only among their hidden peers, like an Erlang remote
// shell. Every method sends one admin rpc (see RPCMembers and friends) to
// an agent, which runs the operation as a cluster member and answers;
// errors keep their identity (errors.Is with ErrNotOwner, ErrNoQuorum,
// node.ErrNoProc, node.ErrTimeout, ...; errors.As with *NotOwnerError and
// *RemoteError).
//
// Failover: when the agent in use cannot be reached, the Client connects
// to the next one of ClientConfig.Agents. Queries (Members, View, Lookup,
// Whereis, Stats, Hosted) are retried on the next agent when the
// connection breaks during the request; Send, Call, EnsureProcess and RPC
// are not (the agent may have run them), they fail with
// node.ErrNoConnection. All methods are safe for concurrent use.
type Client struct {
	cfg   ClientConfig
	log   zerolog.Logger
	warns *ratelog.Logger // repeated warnings (per watch event), rate-limited; closed by Close
	node  *node.Node

	mu     sync.Mutex  // guards agents and cur
	agents []AgentAddr // cfg.Agents, then members learned with Discover
	cur    int         // index in agents of the agent last reached

	ctx       context.Context // ends at Close
	cancel    context.CancelFunc
	gos       goset.Set // Watch loops; stopped by Close
	closeOnce sync.Once
	closeErr  error
}

// NewClient starts the client's hidden node. It does not connect yet:
// the first request (or Connect) does.
func NewClient(cfg ClientConfig) (*Client, error) {
	cfg.Agents = slices.Clone(cfg.Agents)
	cfg.Cookie = slices.Clone(cfg.Cookie)
	if cfg.Name == "" {
		var b [6]byte
		_, _ = rand.Read(b[:])
		cfg.Name = "client-" + hex.EncodeToString(b[:]) + "@localhost"
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = DefaultClientConfig().ConnectTimeout
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cl := &Client{cfg: cfg, agents: slices.Clone(cfg.Agents), log: cfg.Logger.With().Str("component", "placement.client").Str("node", cfg.Name).Logger()}
	factory := cfg.Transport
	if factory == nil {
		factory = clientTCP(cfg)
	}
	nc := cfg.Node
	nc.Name, nc.Hidden, nc.Transport, nc.Logger = cfg.Name, true, factory, orLogger(nc.Logger, cfg.Logger)
	n, err := node.New(nc)
	if err != nil {
		return nil, err
	}
	cl.warns = ratelog.New(cl.log, time.Second)
	for _, a := range cfg.Agents {
		if a.Addr != "" {
			n.SetAddr(a.Name, a.Addr)
		}
	}
	cl.node = n
	cl.ctx, cl.cancel = context.WithCancel(context.Background())
	return cl, nil
}

// clientTCP is the default client transport: TCP, dial only.
func clientTCP(cfg ClientConfig) node.TransportFactory {
	return func(p node.TransportParams, h transport.Handler) (transport.Transport, error) {
		tc := transport.DefaultConfig()
		tc.Name, tc.Cookie, tc.CookieFor, tc.Creation, tc.Hidden = p.Name, cfg.Cookie, p.CookieFor, p.Creation, true
		tc.TLS, tc.Logger = cfg.TLS, cfg.Logger
		return transport.Listen(tc, h)
	}
}

// Node returns the client's hidden node (for monitors, inboxes, direct
// rpc to nodes it can reach).
func (cl *Client) Node() *node.Node { return cl.node }

// Agent returns the name of the agent the client last reached (the first
// configured one before any request).
func (cl *Client) Agent() string {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	return cl.agents[cl.cur].Name
}

// snapshot returns the agents to try and the index of the one in use.
func (cl *Client) snapshot() ([]AgentAddr, int) {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	return cl.agents, cl.cur
}

// learn updates the known agents' addresses from ms (an agent restarted
// on another port) and, with Discover, adds the alive members of ms not
// known yet to the agents.
func (cl *Client) learn(ms Members) {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	for _, m := range ms.Members {
		if m.Status != "alive" || m.TransportAddr == "" {
			continue
		}
		i := slices.IndexFunc(cl.agents, func(a AgentAddr) bool { return a.Name == m.Name })
		switch {
		case i >= 0 && cl.agents[i].Addr != m.TransportAddr:
			cl.setAddrLocked(i, m.TransportAddr)
		case i < 0 && cl.cfg.Discover:
			cl.node.SetAddr(m.Name, m.TransportAddr)
			cl.agents = append(slices.Clip(cl.agents), AgentAddr{Name: m.Name, Addr: m.TransportAddr})
		}
	}
}

// setAddrLocked records agent i's new address (a fresh slice: snapshots
// handed out stay as they were).
func (cl *Client) setAddrLocked(i int, addr string) {
	agents := slices.Clone(cl.agents)
	agents[i].Addr = addr
	cl.agents = agents
	cl.node.SetAddr(agents[i].Name, addr)
}

// refresh asks agent for the members and learns from them, after a
// failover: the other agents may have moved meanwhile.
func (cl *Client) refresh(ctx context.Context, agent string) {
	args, err := node.Encode(cl.node, adminReq{})
	if err != nil {
		return
	}
	out, err := cl.node.RPC(ctx, agent, RPCMembers, args)
	if err != nil {
		return
	}
	if ms, err := decodeAdmin[Members](cl.node, agent, out); err == nil {
		cl.learn(ms)
	}
}

// reresolve looks every agent up again with Resolve; true if an address
// changed (then connecting is worth another round).
func (cl *Client) reresolve() bool {
	if cl.cfg.Resolve == nil {
		return false
	}
	changed := false
	agents, _ := cl.snapshot()
	for _, a := range agents {
		addr, err := cl.cfg.Resolve(a.Name)
		if err != nil || addr == "" || addr == a.Addr {
			continue
		}
		cl.mu.Lock()
		if i := slices.IndexFunc(cl.agents, func(x AgentAddr) bool { return x.Name == a.Name }); i >= 0 {
			cl.setAddrLocked(i, addr)
			changed = true
		}
		cl.mu.Unlock()
	}
	return changed
}

// Close ends the client's Watch streams and its hidden node. Idempotent.
func (cl *Client) Close() error {
	cl.closeOnce.Do(func() {
		cl.gos.Stop()
		cl.cancel()
		cl.gos.Wait()
		cl.warns.Close()
		cl.closeErr = cl.node.Close()
	})
	return cl.closeErr
}

// goTracked runs f on a tracked goroutine; false once Close began.
func (cl *Client) goTracked(f func()) bool { return cl.gos.Go(f) }

// Connect connects to the first reachable agent, starting with the one in
// use, and returns its name. The error, if none can be reached, wraps
// node.ErrNoConnection and each agent's reason (transport.ErrAuth for a
// wrong cookie, transport.ErrUnknownNode without an address, ...).
func (cl *Client) Connect(ctx context.Context) (string, error) {
	_, start := cl.snapshot()
	_, name, err := cl.connect(ctx, start)
	return name, err
}

// connect tries the agents from index start on and returns the first it
// reaches. After a failover it refreshes the agents' addresses from the
// new one; when none is reachable it looks them up again (Resolve) and
// tries once more.
func (cl *Client) connect(ctx context.Context, start int) (int, string, error) {
	idx, name, err := cl.connectRound(ctx, start)
	if err != nil && cl.reresolve() {
		idx, name, err = cl.connectRound(ctx, start)
	}
	if err == nil && idx != start {
		cl.refresh(ctx, name)
	}
	return idx, name, err
}

// connectRound tries every agent once, from index start on.
func (cl *Client) connectRound(ctx context.Context, start int) (int, string, error) {
	if cl.ctx.Err() != nil {
		return 0, "", fmt.Errorf("%w: client closed", node.ErrShutdown)
	}
	var errs []error
	agents, _ := cl.snapshot()
	for i := range agents {
		idx := (start + i) % len(agents)
		a := agents[idx].Name
		cctx, cancel := context.WithTimeout(ctx, cl.cfg.ConnectTimeout)
		err := cl.node.ConnectErr(cctx, a)
		cancel()
		if !cl.node.IsConnected(a) && err == nil {
			err = node.ErrNoConnection
		}
		if err == nil {
			cl.mu.Lock()
			cl.cur = idx
			cl.mu.Unlock()
			return idx, a, nil
		}
		cl.log.Debug().Err(err).Str("agent", a).Msg("agent unreachable")
		errs = append(errs, &agentError{agent: a, err: err})
		if ctx.Err() != nil {
			break
		}
	}
	return 0, "", &noAgentError{errs: errs}
}

// noAgentError reports that no agent could be reached; it matches
// node.ErrNoConnection and every agent's reason.
type noAgentError struct{ errs []error }

func (e *noAgentError) Error() string {
	if len(e.errs) == 0 {
		return "no agent reachable"
	}
	parts := make([]string, len(e.errs))
	for i, err := range e.errs {
		parts[i] = err.Error()
	}
	return strings.Join(parts, "; ")
}

// agentError is why one agent could not be reached, said once: a wrong
// cookie reads "authentication failed at NAME (wrong cookie?)", not the
// transport's nested prefixes.
type agentError struct {
	agent string
	err   error
}

func (e *agentError) Error() string {
	switch {
	case errors.Is(e.err, transport.ErrAuth):
		return "authentication failed at " + e.agent + " (wrong cookie?)"
	case errors.Is(e.err, context.DeadlineExceeded) || errors.Is(e.err, node.ErrTimeout):
		return "no answer from " + e.agent + " in time"
	}
	return "cannot reach " + e.agent + ": " + e.err.Error()
}

func (e *agentError) Unwrap() error { return e.err }

func (e *noAgentError) Unwrap() []error { return append([]error{node.ErrNoConnection}, e.errs...) }

// invoke runs admin rpc fn with req on an agent and decodes its result.
// A query (retry) moves on to the next agent when the request's
// connection broke; any request moves on when it could not be sent at all.
func invoke[T any](ctx context.Context, cl *Client, fn string, req adminReq, retry bool) (T, error) {
	_, start := cl.snapshot()
	v, _, err := invokeFrom[T](ctx, cl, fn, req, retry, start)
	return v, err
}

// invokeFrom is invoke trying the agents from index start on; it also
// returns the agent that answered.
func invokeFrom[T any](ctx context.Context, cl *Client, fn string, req adminReq, retry bool, start int) (T, string, error) {
	var zero T
	args, err := node.Encode(cl.node, req)
	if err != nil {
		return zero, "", err
	}
	ctx, cancel := cl.callCtx(ctx)
	defer cancel()
	agents, _ := cl.snapshot()
	for range agents {
		idx, agent, err := cl.connect(ctx, start)
		if err != nil {
			return zero, "", err
		}
		out, err := cl.node.RPC(ctx, agent, fn, args)
		if err == nil {
			v, err := decodeAdmin[T](cl.node, agent, out)
			return v, agent, err
		}
		// A request that never left (no connection could be made:
		// transport.ErrNoConnection) goes to the next agent even when
		// retry is off: it cannot have run.
		unsent := errors.Is(err, transport.ErrNoConnection)
		if !(retry || unsent) || !errors.Is(err, node.ErrNoConnection) || ctx.Err() != nil {
			return zero, agent, fmt.Errorf("%s at %s: %w", fn, agent, err)
		}
		start = idx + 1
	}
	return zero, "", fmt.Errorf("%s: %w: every agent failed", fn, node.ErrNoConnection)
}

// callCtx gives ctx the node's CallTimeout if it has no deadline, and
// ends it at Close.
func (cl *Client) callCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	var cancel context.CancelFunc
	if _, ok := ctx.Deadline(); !ok {
		ctx, cancel = context.WithTimeout(ctx, cl.callTimeout())
	} else {
		ctx, cancel = context.WithCancel(ctx)
	}
	stop := context.AfterFunc(cl.ctx, cancel)
	return ctx, func() { stop(); cancel() }
}

func (cl *Client) callTimeout() time.Duration {
	if cl.cfg.Node.CallTimeout > 0 {
		return cl.cfg.Node.CallTimeout
	}
	return 5 * time.Second
}

// Members returns the membership as the agent sees it.
func (cl *Client) Members(ctx context.Context) (Members, error) {
	ms, err := invoke[Members](ctx, cl, RPCMembers, adminReq{}, true)
	if err == nil {
		cl.learn(ms)
	}
	return ms, err
}

// MembersWithLoad is Members with each alive member's primaries and
// backups (MemberInfo.Primaries, Backups): the agent asks every member.
func (cl *Client) MembersWithLoad(ctx context.Context) (Members, error) {
	ms, err := invoke[Members](ctx, cl, RPCMembers, adminReq{All: true}, true)
	if err == nil {
		cl.learn(ms)
	}
	return ms, err
}

// View returns the agent's ownership view and whether the ring members
// agree with it.
func (cl *Client) View(ctx context.Context) (ViewInfo, error) {
	return invoke[ViewInfo](ctx, cl, RPCView, adminReq{}, true)
}

// Lookup returns key's owner and up to n owners in the agent's view.
func (cl *Client) Lookup(ctx context.Context, key string, n int) (Lookup, error) {
	if err := checkKey("key", key); err != nil {
		return Lookup{}, err
	}
	return invoke[Lookup](ctx, cl, RPCLookup, adminReq{Key: key, N: n}, true)
}

// Send sends msg to the process for {kind, key} through the agent
// (Cluster.Send there): at most once, started on the key's owner if
// needed. Messages from one goroutine to one key through one agent arrive
// in order.
func (cl *Client) Send(ctx context.Context, kind, key string, msg []byte) error {
	if err := checkRequest(ctx, kind, key); err != nil {
		return err
	}
	_, err := invoke[struct{}](ctx, cl, RPCSend, adminReq{Kind: kind, Key: key, Payload: msg}, false)
	return err
}

// Call calls the process for {kind, key} through the agent (Cluster.Call
// there) and returns its reply.
func (cl *Client) Call(ctx context.Context, kind, key string, req []byte) ([]byte, error) {
	if err := checkRequest(ctx, kind, key); err != nil {
		return nil, err
	}
	return invoke[[]byte](ctx, cl, RPCCall, adminReq{Kind: kind, Key: key, Payload: req}, false)
}

// EnsureProcess starts the process for {kind, key} on its owner if it is
// not running and returns its PID.
func (cl *Client) EnsureProcess(ctx context.Context, kind, key string) (node.PID, error) {
	if err := checkRequest(ctx, kind, key); err != nil {
		return node.PID{}, err
	}
	return invoke[node.PID](ctx, cl, RPCEnsure, adminReq{Kind: kind, Key: key}, false)
}

// Whereis returns the PID of the process for {kind, key}, or an error
// matching ErrNoProcess if none runs.
func (cl *Client) Whereis(ctx context.Context, kind, key string) (node.PID, error) {
	if err := checkRequest(ctx, kind, key); err != nil {
		return node.PID{}, err
	}
	return invoke[node.PID](ctx, cl, RPCWhereis, adminReq{Kind: kind, Key: key}, true)
}

// Stats returns the agent's figures.
func (cl *Client) Stats(ctx context.Context) (StatsReport, error) {
	return invoke[StatsReport](ctx, cl, RPCStats, adminReq{}, true)
}

// Hosted lists the keyed processes the agent hosts.
func (cl *Client) Hosted(ctx context.Context) ([]Hosted, error) {
	return invoke[[]Hosted](ctx, cl, RPCHosted, adminReq{}, true)
}

// RPC runs rpc function fn with args on the cluster node target (the
// agent itself if target is empty), through the agent: the client needs
// no connection to target. args and the result are encoded with the
// cluster's codec (see node.RPCT). An admin rpc (placer.*) returns its
// result, or its error as a *RemoteError, like the Client's own methods.
func (cl *Client) RPC(ctx context.Context, target, fn string, args []byte) ([]byte, error) {
	if fn == "" {
		return nil, fmt.Errorf("%w: empty rpc function name", node.ErrBadArg)
	}
	out, err := invoke[[]byte](ctx, cl, RPCProxy, adminReq{Node: target, Fn: fn, Payload: args}, false)
	if err != nil {
		return nil, err
	}
	return unwrapAdmin(cl.node, orSelf(target, cl.Agent()), fn, out)
}
