package node_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/node/nodetest"
)

// recordingService records casts in order and answers calls later from
// another goroutine.
type recordingService struct {
	mu    sync.Mutex
	casts []string
	froms []node.PID
	wg    sync.WaitGroup
}

func (s *recordingService) HandleCast(from node.PID, payload []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.casts = append(s.casts, string(payload))
	s.froms = append(s.froms, from)
}

func (s *recordingService) HandleCall(from node.PID, req []byte, deadline time.Time, reply node.ReplyFunc) {
	if string(req) == "panic" {
		panic("service bug")
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		reply([]byte(fmt.Sprintf("%s from %s, deadline set %v", req, from, !deadline.IsZero())), nil)
		reply([]byte("second reply is ignored"), nil)
	}()
}

func (s *recordingService) snapshot() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.casts)
}

func TestService(t *testing.T) {
	c := cluster(t, 2, nodetest.Options{})
	svc := &recordingService{}
	t.Cleanup(svc.wg.Wait)
	if err := c.Node(1).RegisterService("router", svc); err != nil {
		t.Fatal(err)
	}
	sender := inbox(t, c.Node(0))
	const k = 200
	for i := range k {
		if err := sender.Send(node.Named{Name: "router", Node: c.Name(1)}, []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	nodetest.WaitFor(t, wait, "casts", func() bool { return len(svc.snapshot()) == k })
	for i, got := range svc.snapshot() {
		if got != fmt.Sprint(i) {
			t.Fatalf("cast %d arrived as %q: order lost", i, got)
		}
	}
	if svc.froms[0] != sender.Self() {
		t.Fatalf("cast from %s", svc.froms[0])
	}
	out, err := sender.Call(context.Background(), node.Named{Name: "router", Node: c.Name(1)}, []byte("q"))
	if want := fmt.Sprintf("q from %s, deadline set true", sender.Self()); err != nil || string(out) != want {
		t.Fatalf("service call: %q %v", out, err)
	}
	_, err = c.Node(0).Call(context.Background(), node.Named{Name: "router", Node: c.Name(1)}, []byte("panic"))
	if !errors.Is(err, node.ErrHandler) || !strings.Contains(err.Error(), "service bug") {
		t.Fatalf("panicking service: %v", err)
	}
	// Local sends run the service on the sender's goroutine: done on return.
	local := &recordingService{}
	if err := c.Node(0).RegisterService("local", local); err != nil {
		t.Fatal(err)
	}
	_ = c.Node(0).Send(node.Named{Name: "local"}, []byte("x"))
	if got := local.snapshot(); len(got) != 1 {
		t.Fatalf("local cast not inline: %v", got)
	}
}

func TestServiceNamesShared(t *testing.T) {
	c := cluster(t, 1, nodetest.Options{})
	n := c.Node(0)
	spawnProbe(t, n, c.Name(0), probeArgs{Name: "taken"})
	if err := n.RegisterService("taken", &recordingService{}); !errors.Is(err, node.ErrNameTaken) {
		t.Fatalf("service over a process name: %v", err)
	}
	if err := n.RegisterService("svc", &recordingService{}); err != nil {
		t.Fatal(err)
	}
	ib := inbox(t, n)
	if err := ib.Register("svc"); !errors.Is(err, node.ErrNameTaken) {
		t.Fatalf("process over a service name: %v", err)
	}
	n.UnregisterService("svc")
	if err := ib.Register("svc"); err != nil {
		t.Fatal(err)
	}
	if err := ib.Register("other"); !errors.Is(err, node.ErrAlreadyRegistered) {
		t.Fatalf("second name: %v", err)
	}
	if got := n.Registered(); !slices.Contains(got, "svc") || !slices.Contains(got, "taken") {
		t.Fatalf("registered %v", got)
	}
	if !n.Unregister("svc") || n.Unregister("svc") {
		t.Fatal("Unregister results wrong")
	}
}

func TestRPC(t *testing.T) {
	started := make(chan struct{}, 1)
	c := cluster(t, 3, nodetest.Options{Configure: func(_ int, cfg *node.Config) {
		cfg.MaxConcurrentRPC = 1
		cfg.RPCs = map[string]node.RPCFunc{
			"fail": func(context.Context, []byte) ([]byte, error) { return nil, errors.New("rpc failed") },
			"wait": func(ctx context.Context, _ []byte) ([]byte, error) {
				started <- struct{}{}
				<-ctx.Done()
				return nil, ctx.Err()
			},
			"node": func(context.Context, []byte) ([]byte, error) { return []byte(cfg.Name), nil },
		}
	}})
	n1 := c.Node(0)
	ctx := context.Background()
	if _, err := n1.RPC(ctx, c.Name(1), "nope", nil); !errors.Is(err, node.ErrUnknownRPC) {
		t.Fatalf("unknown rpc: %v", err)
	}
	if _, err := n1.RPC(ctx, c.Name(1), "fail", nil); !errors.Is(err, node.ErrHandler) || !strings.Contains(err.Error(), "rpc failed") {
		t.Fatalf("failing rpc: %v", err)
	}
	// The caller's deadline is the function's; a second rpc meanwhile is refused.
	errc := make(chan error, 1)
	go func() {
		short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		_, err := n1.RPC(short, c.Name(1), "wait", nil)
		errc <- err
	}()
	<-started
	if _, err := n1.RPC(ctx, c.Name(1), "node", nil); !errors.Is(err, node.ErrBusy) {
		t.Fatalf("rpc over the limit: %v", err)
	}
	if err := <-errc; !errors.Is(err, node.ErrTimeout) {
		t.Fatalf("rpc past its deadline: %v", err)
	}
	nodetest.WaitFor(t, wait, "rpc slot free", func() bool {
		_, err := n1.RPC(ctx, c.Name(1), "node", nil)
		return err == nil
	})
	info, err := node.RPCT[struct{}, node.NodeInfo](ctx, n1, c.Name(2), node.RPCNodeInfo, struct{}{})
	if err != nil || info.Name != c.Name(2) || len(info.Visible) != 2 {
		t.Fatalf("node.info %+v %v", info, err)
	}
	pid := spawnProbe(t, n1, c.Name(2), probeArgs{Name: "reg"})
	procs, err := node.RPCT[struct{}, []node.PID](ctx, n1, c.Name(2), node.RPCProcesses, struct{}{})
	if err != nil || !slices.Contains(procs, pid) {
		t.Fatalf("processes %v %v", procs, err)
	}
	names, err := node.RPCT[struct{}, []string](ctx, n1, c.Name(2), node.RPCRegistered, struct{}{})
	if err != nil || !slices.Equal(names, []string{"reg", node.RPCService}) {
		t.Fatalf("registered %v %v", names, err)
	}
}

func TestMultiCallAndAbcast(t *testing.T) {
	c := cluster(t, 3, nodetest.Options{Configure: func(_ int, cfg *node.Config) {
		cfg.RPCs = map[string]node.RPCFunc{"node": func(context.Context, []byte) ([]byte, error) { return []byte(cfg.Name), nil }}
	}})
	n1 := c.Node(0)
	shells := map[string]*node.Inbox{}
	for i := range 3 {
		ib := inbox(t, c.Node(i))
		if err := ib.Register("shell"); err != nil {
			t.Fatal(err)
		}
		shells[c.Name(i)] = ib
		go func() {
			for {
				m, err := ib.Receive(context.Background())
				if err != nil {
					return
				}
				if call, ok := m.(node.Call); ok {
					call.Reply([]byte("pong "+c.Name(i)), nil)
				}
			}
		}()
	}
	_ = c.Cut(0, 2)
	nodes := append(c.Names(), "ghost@127.0.0.1")
	replies, bad := n1.MultiCall(context.Background(), nodes, "node", nil)
	if len(replies) != 2 || string(replies[c.Name(1)]) != c.Name(1) || len(bad) != 2 {
		t.Fatalf("multicall replies %q bad %v", replies, bad)
	}
	for _, b := range []string{c.Name(2), "ghost@127.0.0.1"} {
		if !errors.Is(bad[b], node.ErrNoConnection) {
			t.Fatalf("bad node %s: %v", b, bad[b])
		}
	}
	replies, bad = n1.MultiCallName(context.Background(), c.Names(0, 1), "shell", []byte("ping"))
	if len(bad) != 0 || string(replies[c.Name(1)]) != "pong "+c.Name(1) {
		t.Fatalf("multi_call %q %v", replies, bad)
	}
	_, bad = n1.MultiCallName(context.Background(), c.Names(1), "nobody", nil)
	if !errors.Is(bad[c.Name(1)], node.ErrNoProc) {
		t.Fatalf("multi_call to a missing name: %v", bad)
	}
	_ = c.Heal()
	for i := range 3 {
		shells[c.Name(i)].Close()
	}
	for i := range 3 {
		ib := inbox(t, c.Node(i))
		if err := ib.Register("listener"); err != nil {
			t.Fatal(err)
		}
		shells[c.Name(i)] = ib
	}
	if err := n1.Abcast(c.Names(), "listener", []byte("hello all")); err != nil {
		t.Fatal(err)
	}
	for _, ib := range shells {
		m := nodetest.Expect(t, ib, wait, "abcast", func(node.Msg) bool { return true })
		if string(m.(node.Message).Payload) != "hello all" {
			t.Fatalf("abcast delivered %+v", m)
		}
	}
}

// A routing service forwards casts (keeping the sender) and calls (through
// CallAsync, no goroutine per call) to a process on another node.
func TestRoutingServiceWithCallAsync(t *testing.T) {
	c := cluster(t, 3, nodetest.Options{})
	rep := newReports(t, c.Node(0))
	target := spawnProbe(t, c.Node(0), c.Name(2), probeArgs{Report: rep.Self()})
	router := c.Node(1)
	err := router.RegisterService("router", node.ServiceFuncs{
		Cast: func(from node.PID, payload []byte) { _ = router.SendFrom(from, target, payload) },
		Call: func(_ node.PID, req []byte, deadline time.Time, reply node.ReplyFunc) {
			router.CallAsync(target, req, deadline, reply)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	sender := inbox(t, c.Node(0))
	to := node.Named{Name: "router", Node: c.Name(1)}
	for i := range 50 {
		_ = sender.Send(to, []byte(fmt.Sprint(i)))
	}
	for i := range 50 {
		if r := expectReport(t, rep, "message", nil); r.Payload != fmt.Sprint(i) || r.From != sender.Self() {
			t.Fatalf("routed message %d: %+v", i, r)
		}
	}
	out, err := sender.Call(context.Background(), to, []byte(`{"Op":"echo","Text":"routed"}`))
	if err != nil || string(out) != "routed" {
		t.Fatalf("routed call: %q %v", out, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	gateName, openGate := newGate(t)
	defer openGate()
	_, err = sender.Call(ctx, to, []byte(`{"Op":"block","Text":"`+gateName+`"}`))
	if !errors.Is(err, node.ErrTimeout) {
		t.Fatalf("routed call past its deadline: %v", err)
	}
	nodetest.WaitFor(t, wait, "the router's pending call expired", func() bool { return router.Stats().PendingCalls == 0 })
	done := make(chan error, 1)
	router.CallAsync(node.Named{Name: "x", Node: "ghost@127.0.0.1"}, nil, time.Time{}, func(_ []byte, err error) { done <- err })
	if err := <-done; !errors.Is(err, node.ErrNoConnection) {
		t.Fatalf("CallAsync to an unreachable node: %v", err)
	}
}

// With one rpc slot, a caller that waits for each reply never finds the
// slot still held by its previous rpc: the slot is freed before the reply
// is sent.
func TestRPCSlotFreeBeforeReply(t *testing.T) {
	c := cluster(t, 2, nodetest.Options{Configure: func(_ int, cfg *node.Config) {
		cfg.MaxConcurrentRPC = 1
		cfg.RPCs = map[string]node.RPCFunc{"echo": func(_ context.Context, b []byte) ([]byte, error) { return b, nil }}
	}})
	n1 := c.Node(0)
	for i := range 500 {
		if _, err := n1.RPC(context.Background(), c.Name(1), "echo", []byte{byte(i)}); err != nil {
			t.Fatalf("rpc %d: %v", i, err)
		}
	}
}
