// Package load is the load generator of the fault harness
// (internal/faults): a hidden node (placement.Client) that runs inside a
// node's network namespace, talks to that node's agent only, and logs every
// operation with a CLOCK_MONOTONIC timestamp (internal/faults/history).
//
// One stream per key, each in a loop every Period:
//
//   - write: a call `set a.<node>.<seq> <seq>` to the kv process of the
//     key: a field per write, so that the final state shows every
//     acknowledged write, not only the last;
//   - incr: a call "1" to the counter process of the key;
//   - send: a send `set o.<node> <seq>` to the kv process, the stream's
//     order register;
//   - read: a call `get o.<node>` (the register must never go back while
//     the state is intact), then `get` of the stream's last acknowledged
//     write (present: the state is intact).
//
// Beside the streams, one monitor per kv key (EnsureProcess, then a
// monitor of the PID; every DOWN is logged and the key re-monitored), and
// the membership and view events the agent reports (placement.Client's
// Watch). Verify reads the final state of every key.
package load

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/placerhq/placer/internal/faults/history"
	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/placement"
)

// Kinds the generator uses: the agent's built-in ones.
const (
	KindKV      = "kv"
	KindCounter = "counter"
)

// ErrConfig: a Config that cannot run.
var ErrConfig = errors.New("load: bad config")

// Config configures a Generator.
type Config struct {
	// Node is the name of the agent the generator talks to (and logs as
	// its own node).
	Node string
	// Agent is that agent's transport address.
	Agent string
	// Peers are the transport addresses of every member by name, so that
	// the generator can monitor processes anywhere.
	Peers map[string]string
	// Cookie is the cluster's cookie.
	Cookie []byte
	// Keys are the keys of the streams (each a kv and a counter process).
	Keys []string
	// Period is the pause between two rounds of a stream. Default 500 ms.
	Period time.Duration
	// Timeout bounds each operation. Default 2 s.
	Timeout time.Duration
	// History receives the records. Required.
	History *history.Writer
}

func (c *Config) validate() error {
	switch {
	case c.Node == "" || c.Agent == "":
		return fmt.Errorf("%w: Node and Agent are required", ErrConfig)
	case len(c.Keys) == 0:
		return fmt.Errorf("%w: no keys", ErrConfig)
	case c.History == nil:
		return fmt.Errorf("%w: no History", ErrConfig)
	}
	if c.Period <= 0 {
		c.Period = 500 * time.Millisecond
	}
	if c.Timeout <= 0 {
		c.Timeout = 2 * time.Second
	}
	return nil
}

// Generator runs the streams, monitors and the event log of one node.
type Generator struct {
	cfg   Config
	short string // the node's name before "@", in field names
	cl    *placement.Client
	inbox *node.Inbox
	mons  *monitors

	loadCtx  context.Context // ends at Stop: streams and re-monitoring
	stopLoad context.CancelFunc
	ctx      context.Context // ends at Close: DOWNs and events
	cancel   context.CancelFunc
	loadWG   sync.WaitGroup
	wg       sync.WaitGroup
	stopOnce sync.Once
}

// Start connects to the agent and starts the streams, the monitors and the
// event log.
func Start(ctx context.Context, cfg Config) (*Generator, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	g := &Generator{cfg: cfg, short: strings.SplitN(cfg.Node, "@", 2)[0]}
	if err := g.connect(ctx); err != nil {
		return nil, err
	}
	g.ctx, g.cancel = context.WithCancel(context.Background())
	g.loadCtx, g.stopLoad = context.WithCancel(g.ctx)
	events, err := g.cl.Watch(g.ctx)
	if err != nil {
		return nil, errors.Join(err, g.Close())
	}
	g.goTracked(&g.wg, func() { g.logEvents(events) })
	g.goTracked(&g.wg, g.receiveDowns)
	for _, key := range cfg.Keys {
		g.goTracked(&g.loadWG, func() { g.monitorKey(key) })
		g.goTracked(&g.loadWG, func() { g.newStream(key).run() })
	}
	return g, nil
}

// connect starts the client, makes every peer reachable for monitors and
// connects to the agent.
func (g *Generator) connect(ctx context.Context) error {
	cc := placement.DefaultClientConfig()
	cc.Name = "load-" + g.cfg.Node
	cc.Cookie = g.cfg.Cookie
	cc.Agents = []placement.AgentAddr{{Name: g.cfg.Node, Addr: g.cfg.Agent}}
	cc.Node.CallTimeout = g.cfg.Timeout
	cl, err := placement.NewClient(cc)
	if err != nil {
		return err
	}
	for name, addr := range g.cfg.Peers {
		cl.Node().SetAddr(name, addr)
	}
	g.cl = cl
	if g.inbox, err = cl.Node().NewInbox(); err != nil {
		return errors.Join(err, cl.Close())
	}
	g.mons = &monitors{byRef: map[node.Ref]string{}, wake: map[string]chan struct{}{}}
	for _, key := range g.cfg.Keys {
		g.mons.wake[key] = make(chan struct{}, 1)
	}
	if _, err = cl.Connect(ctx); err != nil {
		return errors.Join(err, cl.Close())
	}
	return nil
}

// goTracked runs f on a goroutine counted by wg.
func (g *Generator) goTracked(wg *sync.WaitGroup, f func()) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		f()
	}()
}

// Stop ends the streams and the re-monitoring, and waits for them; DOWNs
// and events are still logged until Close.
func (g *Generator) Stop() {
	g.stopOnce.Do(func() {
		g.stopLoad()
		g.loadWG.Wait()
		_ = g.cfg.History.Flush()
	})
}

// Close stops everything, closes the client and flushes the history.
func (g *Generator) Close() error {
	if g.cancel == nil { // Start failed before the goroutines
		return g.cl.Close()
	}
	g.Stop()
	g.cancel()
	g.inbox.Close()
	g.wg.Wait()
	return errors.Join(g.cl.Close(), g.cfg.History.Flush())
}

// record completes op with the node, the end time and err, and logs it.
func (g *Generator) record(op history.Op, err error) {
	op.Node, op.End = g.cfg.Node, history.Now()
	op.OK = err == nil
	if err != nil {
		op.Code, op.Err = Classify(err), err.Error()
	}
	g.cfg.History.Add(op)
}

// opCtx bounds one operation; it is not cancelled by Stop, so that an
// operation in flight ends with its real result.
func (g *Generator) opCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(g.ctx, g.cfg.Timeout)
}

// Classify names the class of a failed operation's error (history.Code*).
func Classify(err error) string {
	classes := []struct {
		code string
		errs []error
	}{
		{history.CodeNoQuorum, []error{placement.ErrNoQuorum}},
		{history.CodeNotOwner, []error{placement.ErrNotOwner}},
		{history.CodeNoMembers, []error{placement.ErrNoMembers}},
		{history.CodeBusy, []error{placement.ErrBusy, node.ErrBusy, node.ErrMailboxFull}},
		{history.CodeShutdown, []error{placement.ErrShutdown, node.ErrShutdown}},
		{history.CodeNoConnection, []error{node.ErrNoConnection}},
		{history.CodeTimeout, []error{node.ErrTimeout, context.DeadlineExceeded}},
		{history.CodeNoProc, []error{node.ErrNoProc, placement.ErrNoProcess}},
	}
	for _, c := range classes {
		for _, e := range c.errs {
			if errors.Is(err, e) {
				return c.code
			}
		}
	}
	return history.CodeOther
}

// logEvents logs the agent's membership and view events until the stream
// ends.
func (g *Generator) logEvents(events <-chan placement.WatchEvent) {
	for ev := range events {
		now := history.Now()
		g.cfg.History.Add(history.Op{Start: now, End: now, Node: g.cfg.Node, Type: history.OpWatch,
			Field: ev.Type, Value: ev.Node, Err: ev.Reason, Seq: int64(ev.Members), OK: true})
	}
}
