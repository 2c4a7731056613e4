package node_test

import (
	"context"
	"errors"
	"slices"
	"sort"
	"testing"

	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/node/nodetest"
	"github.com/placerhq/placer/transport"
)

// responder is the seed's `fn -> send(caller, {:response, 10 * number}) end`:
// Init sends Response{10*N} to Caller and the process ends.
type responder struct{ node.Base }

type responderArgs struct {
	Caller node.PID
	N      int
}

type response struct{ Response int }

func (responder) Init(p *node.Proc, args []byte) error {
	a, err := node.Decode[responderArgs](p, args)
	if err != nil {
		return err
	}
	p.Exit(node.Reason{Kind: node.Normal})
	return node.SendT(p, a.Caller, response{10 * a.N})
}

// TestSeedWalkthrough replays the seed's distribution walk-through on the
// in-memory transport.
func TestSeedWalkthrough(t *testing.T) { walkthrough(t, nodetest.Memnet) }

func walkthrough(t *testing.T, tr nodetest.Transport) {
	ctx := context.Background()
	c := nodetest.New(t, 3, nodetest.Options{Transport: tr, Configure: func(_ int, cfg *node.Config) {
		cfg.Kinds = map[string]node.KindFactory{"responder": func() node.Behavior { return responder{} }, "probe": newProbe}
	}})
	n1, n2, n3 := c.Node(0), c.Node(1), c.Node(2)
	events := inbox(t, n1)
	events.MonitorNodes(true, false) // :net_kernel.monitor_nodes(true)

	t.Run("connect and list", func(t *testing.T) {
		if n1.Self() != "n1@127.0.0.1" || !n1.Connect(ctx, n1.Self()) {
			t.Fatalf("node() = %s", n1.Self())
		}
		for _, pair := range [][2]*node.Node{{n1, n2}, {n3, n2}, {n3, n1}} {
			if !pair[0].Connect(ctx, pair[1].Self()) {
				t.Fatalf("%s could not connect to %s", pair[0].Self(), pair[1].Self())
			}
		}
		want := []string{n3.Self(), n1.Self(), n2.Self()}
		if got := n3.Nodes(node.NodesThis | node.NodesVisible); !slices.Equal(got, want) {
			t.Fatalf("Node.list([:this, :visible]) = %v, want %v", got, want)
		}
		for _, up := range []string{n2.Self(), n3.Self()} {
			nodetest.Expect(t, events, wait, "nodeup "+up, func(m node.Msg) bool {
				u, ok := m.(node.NodeUp)
				return ok && u.Node == up
			})
		}
	})

	t.Run("spawn printer on a remote node", func(t *testing.T) {
		ib := inbox(t, n1)
		args, _ := node.Encode(n1, ib.Self())
		if _, err := n1.SpawnOn(ctx, n2.Self(), node.KindPrinter, args, node.SpawnOpts{}); err != nil {
			t.Fatal(err)
		}
		m := nodetest.Expect(t, ib, wait, "hello", func(node.Msg) bool { return true }).(node.Message)
		if s, _ := node.Decode[string](n1, m.Payload); s != "Hello from n2@127.0.0.1!" {
			t.Fatalf("printer said %q", s)
		}
	})

	t.Run("ten remote spawns reply to the caller", func(t *testing.T) {
		ib := inbox(t, n1)
		for i := 1; i <= 10; i++ {
			args, _ := node.Encode(n1, responderArgs{Caller: ib.Self(), N: i})
			if _, err := n1.SpawnOn(ctx, n2.Self(), "responder", args, node.SpawnOpts{}); err != nil {
				t.Fatal(err)
			}
		}
		var got []int
		for range 10 {
			m := nodetest.Expect(t, ib, wait, "response", func(node.Msg) bool { return true }).(node.Message)
			r, err := node.Decode[response](n1, m.Payload)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, r.Response)
		}
		sort.Ints(got)
		if !slices.Equal(got, []int{10, 20, 30, 40, 50, 60, 70, 80, 90, 100}) {
			t.Fatalf("responses %v", got)
		}
	})

	t.Run("send to a registered process on another node", func(t *testing.T) {
		shell1, shell2 := inbox(t, n1), inbox(t, n2)
		if err := shell2.Register("shell"); err != nil {
			t.Fatal(err)
		}
		if err := node.SendT(shell1, node.Named{Name: "shell", Node: n2.Self()}, "Hello from node1!"); err != nil {
			t.Fatal(err)
		}
		m := nodetest.Expect(t, shell2, wait, "hello", func(node.Msg) bool { return true }).(node.Message)
		if s, _ := node.Decode[string](n2, m.Payload); s != "Hello from node1!" || m.From != shell1.Self() {
			t.Fatalf("got %q from %s", s, m.From)
		}
	})

	t.Run("rpc abs", func(t *testing.T) {
		got, err := node.RPCT[int64, int64](ctx, n1, n2.Self(), node.RPCAbs, -1)
		if err != nil || got != 1 {
			t.Fatalf(":rpc.call(node2, Kernel, :abs, [-1]) = %d, %v", got, err)
		}
	})

	t.Run("hidden node", func(t *testing.T) {
		m, err := c.Add("hidden@127.0.0.1", func(cfg *node.Config, _ *[]byte) { cfg.Hidden = true })
		if err != nil {
			t.Fatal(err)
		}
		if !m.Node.Connect(ctx, n1.Self()) {
			t.Fatal("hidden node could not connect")
		}
		nodetest.WaitFor(t, wait, "n1 lists the hidden node", func() bool { return n1.IsConnected(m.Name) })
		checkList(t, n1, node.NodesHidden, []string{m.Name})
		checkList(t, n1, node.NodesConnected, []string{m.Name, n2.Self(), n3.Self()})
		checkList(t, n1, node.NodesVisible, []string{n2.Self(), n3.Self()})
		checkList(t, m.Node, node.NodesVisible, nil)
		checkList(t, m.Node, node.NodesHidden, []string{n1.Self()})
	})

	t.Run("wrong cookie refused", func(t *testing.T) {
		m, err := c.Add("intruder@127.0.0.1", func(_ *node.Config, cookie *[]byte) { *cookie = []byte("not the cookie") })
		if err != nil {
			t.Fatal(err)
		}
		err = m.Node.ConnectErr(ctx, n1.Self())
		if !errors.Is(err, node.ErrNoConnection) || !errors.Is(err, transport.ErrAuth) {
			t.Fatalf("connect with a wrong cookie: %v", err)
		}
		if m.Node.Connect(ctx, n1.Self()) || n1.IsConnected(m.Name) {
			t.Fatal("wrong cookie made a connection")
		}
		// Node.set_cookie/2: n1 uses the intruder's cookie for it alone.
		n1.SetCookie(m.Name, []byte("not the cookie"))
		if !n1.Connect(ctx, m.Name) {
			t.Fatal("per-peer cookie did not connect")
		}
		n1.SetCookie(m.Name, nil)
	})

	t.Run("monitor a remote process; its node is cut off", func(t *testing.T) {
		ib := inbox(t, n1)
		pid := spawnProbe(t, n1, n3.Self(), probeArgs{})
		ref := ib.Monitor(pid)
		mustDo(t, n1, pid, cmd{Op: "echo"}) // the monitor frame went first
		if tr == nodetest.TCP {
			if err := c.Crash(2); err != nil {
				t.Fatal(err)
			}
		} else if err := c.Isolate(2); err != nil {
			t.Fatal(err)
		}
		if d := expectDown(t, ib, ref); d.Reason.Kind != node.NoConnection || d.PID != pid {
			t.Fatalf("DOWN %+v, want noconnection for %s", d, pid)
		}
		nodetest.Expect(t, events, wait, "nodedown n3", func(m node.Msg) bool {
			d, ok := m.(node.NodeDown)
			return ok && d.Node == n3.Self()
		})
	})
}

func checkList(t *testing.T, n *node.Node, set node.NodeSet, want []string) {
	t.Helper()
	sort.Strings(want)
	if got := n.Nodes(set); !slices.Equal(got, want) {
		t.Fatalf("%s: Nodes(%d) = %v, want %v", n.Self(), set, got, want)
	}
}

// TestSeedWalkthroughTCP replays it on the real transport over 127.0.0.1
// (the cut-off node is crashed instead of cut).
func TestSeedWalkthroughTCP(t *testing.T) { walkthrough(t, nodetest.TCP) }
