package placement

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/transport"
	"github.com/placerhq/placer/transport/memnet"
)

// TestWireErrorRoundTrip: every sentinel an admin reply can carry comes
// back matching itself (and only the sentinels it matched), a
// *NotOwnerError keeps its owner, and an unknown code decodes as
// node.ErrHandler.
func TestWireErrorRoundTrip(t *testing.T) {
	for _, s := range wireSentinels {
		err := fromWire("agent@h", toWire(fmt.Errorf("ctx: %w", s.err)))
		if !errors.Is(err, s.err) {
			t.Fatalf("code %d: %v does not match %v", s.code, err, s.err)
		}
		for _, other := range wireSentinels {
			if other.err != s.err && errors.Is(err, other.err) && !errors.Is(s.err, other.err) {
				t.Fatalf("code %d also matches %v", s.code, other.err)
			}
		}
	}
	err := fromWire("a@h", toWire(fmt.Errorf("route: %w", &NotOwnerError{Owner: "n2@h"})))
	var no *NotOwnerError
	if !errors.As(err, &no) || no.Owner != "n2@h" || !errors.Is(err, ErrNotOwner) {
		t.Fatalf("not-owner lost: %v", err)
	}
	var re *RemoteError
	if !errors.As(err, &re) || re.Node != "a@h" {
		t.Fatalf("no RemoteError: %#v", err)
	}
	two := fromWire("a@h", toWire(wrapNode(node.ErrShutdown)))
	if !errors.Is(two, ErrShutdown) || !errors.Is(two, node.ErrShutdown) {
		t.Fatalf("both shutdown sentinels expected: %v", two)
	}
	unknown := fromWire("a@h", &wireError{Codes: []uint16{999}, Text: "future"})
	if !errors.Is(unknown, node.ErrHandler) || unknown.Error() != "future (at a@h)" {
		t.Fatalf("unknown code: %v", unknown)
	}
	if toWire(nil) != nil {
		t.Fatal("nil error must encode as nil")
	}
}

// hiddenFactory is memnetFactory for a hidden, dial-only client.
func hiddenFactory(net *memnet.Network, cookie []byte) node.TransportFactory {
	return func(p node.TransportParams, h transport.Handler) (transport.Transport, error) {
		ec := memnet.DefaultEndpointConfig()
		ec.Name, ec.Cookie, ec.Creation, ec.Hidden, ec.DialOnly = p.Name, cookie, p.Creation, p.Hidden, true
		return net.Listen(ec, h)
	}
}

// newMemClient starts a Client on tc's memnet talking to agents.
func newMemClient(t *testing.T, tc *testCluster, cookie []byte, agents ...*Cluster) *Client {
	t.Helper()
	cfg := DefaultClientConfig()
	cfg.Cookie, cfg.Transport, cfg.Logger = cookie, hiddenFactory(tc.net, cookie), testLogger()
	cfg.ConnectTimeout = time.Second
	for _, a := range agents {
		cfg.Agents = append(cfg.Agents, AgentAddr{Name: a.Name()})
	}
	cl, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cl.Close() })
	return cl
}

// staticCluster starts n nodes with static views (no Serf) on memnet.
func staticCluster(t *testing.T, prefix string, n int) (*testCluster, []*Cluster) {
	tc := newTestCluster(t, false)
	cs := tc.startN(prefix, n, nil)
	setView(cs, cs...)
	return tc, cs
}

// TestClientOperations: through one agent, a hidden client sees the
// members and the view, looks keys up as the agent does, sends to and
// calls keyed processes wherever they live, finds them, reads stats and
// hosted keys, and runs rpcs on other nodes through the agent.
func TestClientOperations(t *testing.T) {
	t.Parallel()
	tc, cs := staticCluster(t, "co", 3)
	cl := newMemClient(t, tc, testCookie, cs[0])
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
	if err != nil || v.Checksum != cs[0].View().Checksum || len(v.Members) != 3 || !v.Converged || len(v.Checksums) != 3 {
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
}

// failing is a keyed kind whose calls fail with ErrBusy-wrapping errors
// or a plain error, to check error identity across two hops.
type failing struct{ node.Base }

func (failing) HandleCall(_ *node.Proc, _ node.PID, req []byte) ([]byte, error) {
	if string(req) == "busy" {
		return nil, fmt.Errorf("overloaded: %w", node.ErrBusy)
	}
	return nil, errors.New("boom")
}

// TestClientErrors: errors keep their identity across the client → agent
// → owner hops.
func TestClientErrors(t *testing.T) {
	t.Parallel()
	tc := newTestCluster(t, false)
	cs := tc.startN("ce", 2, func(c *Config) {
		c.Kinds["failing"] = func() node.Behavior { return failing{} }
	})
	setView(cs, cs...)
	cl := newMemClient(t, tc, testCookie, cs[0])
	ctx := context.Background()
	cases := []struct {
		name string
		err  func() error
		want error
	}{
		{"unknown kind", func() error { _, err := cl.Call(ctx, "nope", "k", nil); return err }, ErrUnknownKind},
		{"no process", func() error { _, err := cl.Whereis(ctx, kindCounter, "never"); return err }, ErrNoProcess},
		{"handler", func() error { _, err := cl.Call(ctx, "failing", "k", []byte("x")); return err }, node.ErrHandler},
		{"busy", func() error { _, err := cl.Call(ctx, "failing", "k", []byte("busy")); return err }, node.ErrBusy},
		{"unknown rpc", func() error { _, err := cl.RPC(ctx, cs[1].Name(), "nope", nil); return err }, node.ErrUnknownRPC},
		{"rpc to nowhere", func() error { _, err := cl.RPC(ctx, "ghost@127.0.0.1", node.RPCAbs, nil); return err }, node.ErrNoConnection},
		{"bad key", func() error { return cl.Send(ctx, kindCounter, "", nil) }, ErrBadKey},
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
	setView(cs[:1]) // cs[0] now has an empty view: no key has an owner
	if _, err := cl.Lookup(ctx, "k", 1); !errors.Is(err, ErrNoMembers) {
		t.Errorf("empty view: %v", err)
	}
	if err := cl.Send(ctx, kindCounter, "k", nil); !errors.Is(err, ErrNoMembers) {
		t.Errorf("empty view send: %v", err)
	}
}

// TestClientNotOwnerAcrossWire: a request that reaches a node which no
// longer owns the key and may not forward it comes back as a
// *NotOwnerError naming the owner, through the client.
func TestClientNotOwnerAcrossWire(t *testing.T) {
	t.Parallel()
	tc := newTestCluster(t, false)
	cs := tc.startN("no", 2, func(c *Config) { c.MaxHops = 0 })
	setView(cs, cs...)
	key := ""
	for i := 0; key == ""; i++ {
		if k := "k" + strconv.Itoa(i); cs[0].Owner(k) == cs[1].Name() {
			key = k
		}
	}
	setView(cs[1:], cs[0]) // cs[1] believes cs[0] owns everything; cs[0] still routes to cs[1]
	cl := newMemClient(t, tc, testCookie, cs[0])
	_, err := cl.Call(context.Background(), kindCounter, key, nil)
	var no *NotOwnerError
	if !errors.As(err, &no) || no.Owner != cs[0].Name() || !errors.Is(err, ErrNotOwner) {
		t.Fatalf("want NotOwnerError naming %s, got %v", cs[0].Name(), err)
	}
}

// TestClientWrongCookie: an agent refuses a client with another cookie;
// the error says so.
func TestClientWrongCookie(t *testing.T) {
	t.Parallel()
	tc, cs := staticCluster(t, "wc", 1)
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
	tc, cs := staticCluster(t, "fo", 3)
	cfg := DefaultClientConfig()
	cfg.Cookie, cfg.Transport, cfg.ConnectTimeout = testCookie, hiddenFactory(tc.net, testCookie), time.Second
	cfg.Agents = []AgentAddr{{Name: "gone@127.0.0.1"}, {Name: cs[0].Name()}, {Name: cs[1].Name()}}
	cl, err := NewClient(cfg)
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

// TestClientConfigValidation: bad configs are refused with ErrBadConfig.
func TestClientConfigValidation(t *testing.T) {
	good := DefaultClientConfig()
	good.Cookie, good.Agents = testCookie, []AgentAddr{{Name: "a@h"}}
	for name, mut := range map[string]func(*ClientConfig){
		"short cookie": func(c *ClientConfig) { c.Cookie = []byte("short") },
		"no agents":    func(c *ClientConfig) { c.Agents = nil },
		"bad agent":    func(c *ClientConfig) { c.Agents = []AgentAddr{{Name: "nohost"}} },
		"bad name":     func(c *ClientConfig) { c.Name = "x y@h" },
		"timeout":      func(c *ClientConfig) { c.ConnectTimeout = 0 },
	} {
		cfg := good
		mut(&cfg)
		if _, err := NewClient(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
