package placement_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/placement"
	"github.com/placerhq/placer/transport"
)

// newMemClient starts a placement.Client on tc's network talking to agents.
func newMemClient(t *testing.T, tc *testCluster, cookie []byte, agents ...*placement.Cluster) *placement.Client {
	t.Helper()
	cfg := tc.ClientConfig(agents...)
	cfg.Cookie, cfg.Transport = cookie, tc.ClientTransport(cookie)
	cfg.Logger, cfg.ConnectTimeout = testLogger(), time.Second
	cl, err := placement.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cl.Close() })
	return cl
}

// staticCluster starts n nodes with static views (no Serf) on memnet.
func staticCluster(t *testing.T, n int) (*testCluster, []*placement.Cluster) {
	tc := newTestCluster(t, false)
	cs := tc.startN(n, nil)
	setView(cs, cs...)
	return tc, cs
}

// TestClientOperations: through one agent, a hidden client sees the
// members and the view, looks keys up as the agent does, sends to and
// calls keyed processes wherever they live, finds them, reads stats and
// hosted keys, and runs rpcs on other nodes through the agent.
func TestClientOperations(t *testing.T) {
	t.Parallel()
	tc, cs := staticCluster(t, 3)
	cl := newMemClient(t, tc, tc.Cookie(), cs[0])
	ctx := context.Background()

	ms, err := cl.Members(ctx)
	if err != nil || ms.Node != cs[0].Name() || len(ms.Members) != 3 || !slices.Contains(ms.Hidden, cl.Node().Self()) {
		t.Fatalf("members %+v %v", ms, err)
	}
	for _, m := range ms.Members {
		if !m.Ring || m.Status != "alive" || m.Name == cl.Node().Self() {
			t.Fatalf("member %+v", m)
		}
	}
	if cs[0].View().Has(cl.Node().Self()) || slices.Contains(cs[0].Node().Nodes(node.NodesVisible), cl.Node().Self()) {
		t.Fatal("the client must never be visible or on the ring")
	}
	v, err := cl.View(ctx)
	if err != nil || uint64(v.Checksum) != cs[0].View().Checksum || len(v.Members) != 3 || !v.Converged || len(v.Checksums) != 3 {
		t.Fatalf("view %+v %v", v, err)
	}
	for i := range 20 {
		key := keyName(i)
		lk, err := cl.Lookup(ctx, key, 2)
		if err != nil || lk.Owner != cs[1].Owner(key) || len(lk.Owners) != 2 || lk.Owners[0] != lk.Owner {
			t.Fatalf("lookup %s: %+v %v", key, lk, err)
		}
		if err := cl.Send(ctx, kindCounter, key, []byte("x 1")); err != nil {
			t.Fatal(err)
		}
		out, err := cl.Call(ctx, kindCounter, key, []byte("inc"))
		if err != nil || string(out) != "2" {
			t.Fatalf("call %s: %q %v", key, out, err)
		}
		pid, err := cl.Whereis(ctx, kindCounter, key)
		if err != nil || pid.Node != lk.Owner {
			t.Fatalf("whereis %s: %v %v (owner %s)", key, pid, err, lk.Owner)
		}
	}
	pid, err := cl.EnsureProcess(ctx, kindPlain, "fresh")
	if err != nil || pid.Node != cs[0].Owner("fresh") {
		t.Fatalf("ensure: %v %v", pid, err)
	}
	st, err := cl.Stats(ctx)
	if err != nil || st.Node != cs[0].Name() || st.Placement.Routed == 0 || st.Membership != nil {
		t.Fatalf("stats %+v %v", st, err)
	}
	hosted, err := cl.Hosted(ctx)
	if err != nil || len(hosted) != len(cs[0].Hosted()) {
		t.Fatalf("hosted %d vs %d: %v", len(hosted), len(cs[0].Hosted()), err)
	}
	args, _ := node.Encode(cl.Node(), -7)
	out, err := cl.RPC(ctx, cs[2].Name(), node.RPCAbs, args)
	if n, derr := node.Decode[int](cl.Node(), out); err != nil || derr != nil || n != 7 {
		t.Fatalf("rpc abs via agent: %q %v %v", out, err, derr)
	}
	out, err = cl.RPC(ctx, "", node.RPCNodeInfo, nil)
	if info, derr := node.Decode[node.NodeInfo](cl.Node(), out); err != nil || derr != nil || info.Name != cs[0].Name() {
		t.Fatalf("rpc node.info: %+v %v %v", info, err, derr)
	}
	// A placer.* function that is not one of placement's admin rpcs (as
	// placement/global's are) comes back as it is, not as an adminReply.
	if err := cs[2].Node().RegisterRPC("placer.ext.echo", func(_ context.Context, a []byte) ([]byte, error) { return a, nil }); err != nil {
		t.Fatal(err)
	}
	if out, err := cl.RPC(ctx, cs[2].Name(), "placer.ext.echo", []byte(`{"id":"x"}`)); err != nil || string(out) != `{"id":"x"}` {
		t.Fatalf("rpc placer.ext.echo: %q %v", out, err)
	}
	out, err = cl.RPC(ctx, cs[2].Name(), placement.RPCStats, nil)
	if st, derr := node.Decode[placement.StatsReport](cl.Node(), out); err != nil || derr != nil || st.Node != cs[2].Name() {
		t.Fatalf("rpc placer.stats: %q %v %v", out, err, derr)
	}
}

// failing is a keyed kind whose calls fail with placement.ErrBusy-wrapping errors
// or a plain error, to check error identity across two hops.
type failing struct{ node.Base }

func (failing) HandleCall(_ *node.Proc, _ node.PID, req []byte) ([]byte, error) {
	switch string(req) {
	case "busy":
		return nil, fmt.Errorf("overloaded: %w", node.ErrBusy)
	case "key busy": // as the replication wrapper answers for a superseded copy
		return nil, fmt.Errorf("%w: this copy was superseded", placement.ErrBusy)
	}
	return nil, errors.New("boom")
}

// TestClientErrors: errors keep their identity across the client → agent
// → owner hops.
func TestClientErrors(t *testing.T) {
	t.Parallel()
	tc := newTestCluster(t, false)
	cs := tc.startN(2, func(c *placement.Config) {
		c.Kinds["failing"] = func() node.Behavior { return failing{} }
	})
	setView(cs, cs...)
	cl := newMemClient(t, tc, tc.Cookie(), cs[0])
	ctx := context.Background()
	cases := []struct {
		name string
		err  func() error
		want error
	}{
		{"unknown kind", func() error { _, err := cl.Call(ctx, "nope", "k", nil); return err }, placement.ErrUnknownKind},
		{"no process", func() error { _, err := cl.Whereis(ctx, kindCounter, "never"); return err }, placement.ErrNoProcess},
		{"handler", func() error { _, err := cl.Call(ctx, "failing", "k", []byte("x")); return err }, node.ErrHandler},
		{"busy", func() error { _, err := cl.Call(ctx, "failing", "k", []byte("busy")); return err }, node.ErrBusy},
		{"unknown rpc", func() error { _, err := cl.RPC(ctx, cs[1].Name(), "nope", nil); return err }, node.ErrUnknownRPC},
		{"rpc to nowhere", func() error { _, err := cl.RPC(ctx, "ghost@127.0.0.1", node.RPCAbs, nil); return err }, node.ErrNoConnection},
		{"bad key", func() error { return cl.Send(ctx, kindCounter, "", nil) }, placement.ErrBadKey},
		{"timeout", func() error {
			c, cancel := context.WithTimeout(ctx, time.Nanosecond)
			defer cancel()
			<-c.Done()
			_, err := cl.Call(c, kindCounter, "k", nil)
			return err
		}, context.DeadlineExceeded},
	}
	for _, tt := range cases {
		if err := tt.err(); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
	// A key's process that answers placement.ErrBusy (the replication
	// wrapper does, for a superseded copy or a write its backups did not
	// store) reaches the caller as ErrBusy, from every node, with its
	// detail: not as a handler error (fault-harness finding 9).
	for _, k := range []string{"k", "k2", "k3", "k4"} {
		for _, call := range map[string]func() error{
			"client": func() error { _, err := cl.Call(ctx, "failing", k, []byte("key busy")); return err },
			"node 1": func() error { _, err := cs[0].Call(ctx, "failing", k, []byte("key busy")); return err },
			"node 2": func() error { _, err := cs[1].Call(ctx, "failing", k, []byte("key busy")); return err },
		} {
			err := call()
			if !errors.Is(err, placement.ErrBusy) || errors.Is(err, node.ErrHandler) || !strings.Contains(err.Error(), "this copy was superseded") {
				t.Errorf("key %s: a process's ErrBusy: %v, want placement.ErrBusy with its detail", k, err)
			}
		}
	}
	setView(cs[:1]) // cs[0] now has an empty view: no key has an owner
	if _, err := cl.Lookup(ctx, "k", 1); !errors.Is(err, placement.ErrNoMembers) {
		t.Errorf("empty view: %v", err)
	}
	if err := cl.Send(ctx, kindCounter, "k", nil); !errors.Is(err, placement.ErrNoMembers) {
		t.Errorf("empty view send: %v", err)
	}
}

// TestClientNotOwnerAcrossWire: a request that reaches a node which no
// longer owns the key and may not forward it comes back as a
// *placement.NotOwnerError naming the owner, through the client.
func TestClientNotOwnerAcrossWire(t *testing.T) {
	t.Parallel()
	tc := newTestCluster(t, false)
	cs := tc.startN(2, func(c *placement.Config) { c.MaxHops = placement.NoForwarding })
	setView(cs, cs...)
	key := ""
	for i := 0; key == ""; i++ {
		if k := "k" + strconv.Itoa(i); cs[0].Owner(k) == cs[1].Name() {
			key = k
		}
	}
	setView(cs[1:], cs[0]) // cs[1] believes cs[0] owns everything; cs[0] still routes to cs[1]
	cl := newMemClient(t, tc, tc.Cookie(), cs[0])
	_, err := cl.Call(context.Background(), kindCounter, key, nil)
	var no *placement.NotOwnerError
	if !errors.As(err, &no) || no.Owner != cs[0].Name() || !errors.Is(err, placement.ErrNotOwner) {
		t.Fatalf("want placement.NotOwnerError naming %s, got %v", cs[0].Name(), err)
	}
}

// TestClientWrongCookie: an agent refuses a client with another cookie;
// the error says so.
func TestClientWrongCookie(t *testing.T) {
	t.Parallel()
	tc, cs := staticCluster(t, 1)
	cl := newMemClient(t, tc, []byte("a completely different cookie, 32+ bytes"), cs[0])
	_, err := cl.Members(context.Background())
	if !errors.Is(err, node.ErrNoConnection) {
		t.Fatalf("want ErrNoConnection, got %v", err)
	}
	if _, err := cl.Connect(context.Background()); err == nil {
		t.Fatal("connect with a wrong cookie succeeded")
	}
}

// TestClientFailover: with the first agent gone, queries move on to the
// next one; and a client whose agent closes fails over too.
func TestClientFailover(t *testing.T) {
	t.Parallel()
	tc, cs := staticCluster(t, 3)
	cfg := placement.DefaultClientConfig()
	cfg.Cookie, cfg.Transport, cfg.ConnectTimeout = tc.Cookie(), tc.ClientTransport(tc.Cookie()), time.Second
	cfg.Agents = []placement.AgentAddr{{Name: "gone@127.0.0.1"}, {Name: cs[0].Name()}, {Name: cs[1].Name()}}
	cl, err := placement.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx := context.Background()
	if ms, err := cl.Members(ctx); err != nil || ms.Node != cs[0].Name() || cl.Agent() != cs[0].Name() {
		t.Fatalf("first reachable agent: %+v %v (agent %s)", ms, err, cl.Agent())
	}
	_ = cs[0].Close()
	setView(cs[1:], cs[1:]...)
	waitFor(t, 5*time.Second, func() bool {
		st, err := cl.Stats(ctx)
		return err == nil && st.Node == cs[1].Name()
	}, "no failover to %s", cs[1].Name())
	if err := cl.Send(ctx, kindCounter, "k", []byte("x 1")); err != nil {
		t.Fatal(err)
	}
	_ = cl.Close()
	if _, err := cl.Members(ctx); !errors.Is(err, node.ErrShutdown) {
		t.Fatalf("after Close: %v", err)
	}
}

// TestClientConfigValidation: bad configs are refused with placement.ErrBadConfig.
func TestClientConfigValidation(t *testing.T) {
	good := placement.DefaultClientConfig()
	good.Cookie, good.Agents = testCookie, []placement.AgentAddr{{Name: "a@h"}}
	for name, mut := range map[string]func(*placement.ClientConfig){
		"short cookie": func(c *placement.ClientConfig) { c.Cookie = []byte("short") },
		"no agents":    func(c *placement.ClientConfig) { c.Agents = nil },
		"bad agent":    func(c *placement.ClientConfig) { c.Agents = []placement.AgentAddr{{Name: "nohost"}} },
		"bad name":     func(c *placement.ClientConfig) { c.Name = "x y@h" },
		"timeout":      func(c *placement.ClientConfig) { c.ConnectTimeout = -time.Second },
		"node name":    func(c *placement.ClientConfig) { c.Node.Name = "other@h" },
		"node transport": func(c *placement.ClientConfig) {
			c.Node.Transport = func(node.TransportParams, transport.Handler) (transport.Transport, error) { return nil, nil }
		},
	} {
		cfg := good
		mut(&cfg)
		if _, err := placement.NewClient(cfg); !errors.Is(err, placement.ErrBadConfig) {
			t.Errorf("%s: %v, want ErrBadConfig", name, err)
		}
	}
	zero := placement.ClientConfig{Cookie: testCookie, Agents: good.Agents} // zero ConnectTimeout: the default
	cl, err := placement.NewClient(zero)
	if err != nil {
		t.Fatalf("zero ClientConfig refused: %v", err)
	}
	_ = cl.Close()
}
