package node_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/placerhq/placer/internal/poll"
	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/node/nodetest"
	"github.com/placerhq/placer/transport"
)

func TestMonitorNode(t *testing.T) {
	c := cluster(t, 2, nodetest.Options{})
	rep := newReports(t, c.Node(0))
	pid := spawnProbe(t, c.Node(0), c.Name(0), probeArgs{Report: rep.Self()})
	mustDo(t, c.Node(0), pid, cmd{Op: "monitor_node", Node: c.Name(1)})
	mustDo(t, c.Node(0), pid, cmd{Op: "monitor_node", Node: "ghost@127.0.0.1"})
	if r := expectReport(t, rep, "nodedown", nil); r.Node != "ghost@127.0.0.1" {
		t.Fatalf("unreachable node: %+v", r)
	}
	_ = c.Cut(0, 1)
	if r := expectReport(t, rep, "nodedown", nil); r.Node != c.Name(1) {
		t.Fatalf("cut node: %+v", r)
	}
	// One NodeDown per MonitorNode: the next disconnect reports nothing.
	_ = c.Heal()
	if !c.Node(0).Connect(context.Background(), c.Name(1)) {
		t.Fatal("reconnect failed")
	}
	c.Node(0).Disconnect(c.Name(1))
	noReport(t, rep, 20*time.Millisecond, "nodedown", nil)
}

func TestMonitorNodesAndHidden(t *testing.T) {
	c := cluster(t, 2, nodetest.Options{})
	visibleOnly, all := inbox(t, c.Node(0)), inbox(t, c.Node(0))
	visibleOnly.MonitorNodes(true, false)
	all.MonitorNodes(true, true)
	h, err := c.Add("hidden@127.0.0.1", func(cfg *node.Config, _ *[]byte) { cfg.Hidden = true })
	if err != nil {
		t.Fatal(err)
	}
	if !h.Node.Connect(context.Background(), c.Name(0)) {
		t.Fatal("hidden connect failed")
	}
	m := nodetest.Expect(t, all, wait, "hidden nodeup", func(m node.Msg) bool { _, ok := m.(node.NodeUp); return ok })
	if u := m.(node.NodeUp); u.Node != h.Name || !u.Hidden {
		t.Fatalf("nodeup %+v", u)
	}
	c.Node(0).Disconnect(c.Name(1))
	m = nodetest.Expect(t, visibleOnly, wait, "nodedown", func(node.Msg) bool { return true })
	if d, ok := m.(node.NodeDown); !ok || d.Node != c.Name(1) || !errors.Is(d.Reason, transport.ErrConnClosed) {
		t.Fatalf("visible-only subscriber got %#v first (hidden events must not reach it)", m)
	}
	visibleOnly.MonitorNodes(false, false)
	if !c.Node(0).Connect(context.Background(), c.Name(1)) {
		t.Fatal("reconnect")
	}
	noMessage(t, visibleOnly, 20*time.Millisecond, "event after unsubscribe", func(node.Msg) bool { return true })
}

func TestSubscribeNodeEvents(t *testing.T) {
	c := cluster(t, 2, nodetest.Options{Configure: func(_ int, cfg *node.Config) { cfg.NodeEventBuffer = 2 }})
	n1 := c.Node(0)
	ch, cancel := n1.SubscribeNodeEvents()
	n1.Disconnect(c.Name(1))
	ev := <-ch
	if ev.Up || ev.Node != c.Name(1) || !errors.Is(ev.Reason, transport.ErrConnClosed) || ev.Dropped != 0 {
		t.Fatalf("event %+v", ev)
	}
	// Nobody reads: the node does not block, the oldest events go, and
	// the loss is reported.
	for range 5 {
		if !n1.Connect(context.Background(), c.Name(1)) {
			t.Fatal("connect")
		}
		n1.Disconnect(c.Name(1))
	}
	first := <-ch
	second := <-ch
	if first.Dropped+second.Dropped == 0 {
		t.Fatalf("lost events not reported: %+v %+v", first, second)
	}
	if second.Up || second.Node != c.Name(1) {
		t.Fatalf("newest event should be kept: %+v", second)
	}
	cancel()
	if _, open := <-ch; open {
		t.Fatal("channel open after cancel")
	}
}

func TestSpawnErrors(t *testing.T) {
	c := cluster(t, 2, nodetest.Options{})
	n1 := c.Node(0)
	ctx := context.Background()
	for _, where := range c.Names() {
		if _, err := n1.SpawnOn(ctx, where, "no-such-kind", nil, node.SpawnOpts{}); !errors.Is(err, node.ErrUnknownKind) {
			t.Fatalf("unknown kind on %s: %v", where, err)
		}
		args := []byte(`{"FailInit":true}`)
		if _, err := n1.SpawnOn(ctx, where, "probe", args, node.SpawnOpts{}); !errors.Is(err, node.ErrInit) {
			t.Fatalf("failing init on %s: %v", where, err)
		}
		spawnProbe(t, n1, where, probeArgs{Name: "dup"})
		if _, err := n1.SpawnOn(ctx, where, "probe", nil, node.SpawnOpts{Name: "dup"}); !errors.Is(err, node.ErrNameTaken) {
			t.Fatalf("taken name on %s: %v", where, err)
		}
	}
	if _, err := n1.SpawnOn(ctx, "ghost@127.0.0.1", "probe", nil, node.SpawnOpts{}); !errors.Is(err, node.ErrNoConnection) {
		t.Fatalf("spawn on an unreachable node: %v", err)
	}
	for i := range 2 {
		if n := c.Node(i).Stats().Processes; n != 1 {
			t.Fatalf("node %d has %d processes, want only the dup probe", i, n)
		}
	}
}

func TestSpawnLink(t *testing.T) {
	c := cluster(t, 2, nodetest.Options{})
	ib := inbox(t, c.Node(0))
	pid, err := c.Node(0).SpawnOn(context.Background(), c.Name(1), "probe", nil, node.SpawnOpts{LinkTo: ib.Self()})
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.Node(0).ProcessInfo(ib.Self())
	if err != nil || info.Links != 1 {
		t.Fatalf("caller not linked when spawn returned: %+v %v", info, err)
	}
	mustDo(t, c.Node(0), pid, cmd{Op: "exit", Reason: node.Reason{Kind: node.Error, Err: "linked"}})
	m := nodetest.Expect(t, ib, wait, "exit", func(m node.Msg) bool { _, ok := m.(node.Exit); return ok })
	if e := m.(node.Exit); e.From != pid || e.Reason.Err != "linked" {
		t.Fatalf("EXIT %+v", e)
	}
}

// slowInit blocks in Init until released.
type slowInit struct {
	node.Base
	release chan struct{}
}

func (s slowInit) Init(*node.Proc, []byte) error {
	<-s.release
	return nil
}

// A spawner that gives up leaves no process behind.
func TestSpawnTimeoutStopsProcess(t *testing.T) {
	release := make(chan struct{})
	c := cluster(t, 1, nodetest.Options{Configure: func(_ int, cfg *node.Config) {
		cfg.Kinds = map[string]node.KindFactory{"slow": func() node.Behavior { return slowInit{release: release} }}
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := c.Node(0).Spawn(ctx, "slow", nil, node.SpawnOpts{Name: "slow"}); !errors.Is(err, node.ErrTimeout) {
		t.Fatalf("spawn timeout: %v", err)
	}
	close(release)
	nodetest.WaitFor(t, wait, "abandoned process gone", func() bool {
		_, ok := c.Node(0).Whereis("slow")
		return !ok && c.Node(0).Stats().Processes == 0
	})
}

// Shutdown terminates every process with reason shutdown, fires remote
// monitors, refuses new work and ends every goroutine.
func TestCleanShutdown(t *testing.T)    { cleanShutdown(t, nodetest.Memnet) }
func TestCleanShutdownTCP(t *testing.T) { cleanShutdown(t, nodetest.TCP) }

func cleanShutdown(t *testing.T, tr nodetest.Transport) {
	c := cluster(t, 2, nodetest.Options{Transport: tr})
	n1, n2 := c.Node(0), c.Node(1)
	rep := newReports(t, n1)
	watch := inbox(t, n1)
	var refs []node.Ref
	for i := range 3 {
		pid := spawnProbe(t, n1, c.Name(1), probeArgs{Report: rep.Self(), Trap: i == 0})
		refs = append(refs, watch.Monitor(pid))
	}
	remoteInbox := inbox(t, n2)
	refs = append(refs, watch.Monitor(remoteInbox.Self()))
	mustDo(t, n1, spawnProbe(t, n1, c.Name(1), probeArgs{}), cmd{Op: "echo"})
	if err := c.Stop(1); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if r := expectReport(t, rep, "terminate", nil); r.Reason.Kind != node.Shutdown {
			t.Fatalf("Terminate reason %v", r.Reason)
		}
	}
	for _, d := range expectDowns(t, watch, refs) {
		if d.Reason.Kind != node.Shutdown {
			t.Fatalf("remote DOWN %+v, want shutdown", d)
		}
	}
	if _, err := n2.Spawn(context.Background(), "probe", nil, node.SpawnOpts{}); !errors.Is(err, node.ErrShutdown) {
		t.Fatalf("spawn after shutdown: %v", err)
	}
	if _, err := n2.NewInbox(); !errors.Is(err, node.ErrShutdown) {
		t.Fatalf("inbox after shutdown: %v", err)
	}
	if _, err := remoteInbox.Receive(context.Background()); !errors.Is(err, node.ErrClosed) {
		t.Fatalf("receive on a shut-down node: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	goleak.VerifyNone(t)
}

// Node events come in the order the connections came up and went down:
// once Connect(a) has returned, NodeUp(a) is delivered before the NodeUp of
// any node connected afterwards (the seed walkthrough relies on it), and
// likewise for Disconnect and NodeDown, to Inbox monitors and to
// SubscribeNodeEvents alike.
func TestNodeEventsInConnectOrder(t *testing.T) {
	for _, tr := range []nodetest.Transport{nodetest.Memnet, nodetest.TCP} {
		c := cluster(t, 6, nodetest.Options{Transport: tr})
		n1 := c.Node(0)
		ib := inbox(t, n1)
		ib.MonitorNodes(true, false)
		evs, cancel := n1.SubscribeNodeEvents()
		ctx := context.Background()
		for round := range 10 {
			for _, up := range []bool{false, true} { // cluster connected them all
				for i := 1; i < 6; i++ {
					if up && !n1.Connect(ctx, c.Name(i)) {
						t.Fatalf("connect %s", c.Name(i))
					} else if !up && !n1.Disconnect(c.Name(i)) {
						t.Fatalf("disconnect %s", c.Name(i))
					}
				}
				for i := 1; i < 6; i++ {
					m, err := receiveWithin(ib, wait)
					if err != nil {
						t.Fatalf("round %d, up %v: event %d: %v", round, up, i, err)
					}
					var got string
					switch e := m.(type) {
					case node.NodeUp:
						if up {
							got = e.Node
						}
					case node.NodeDown:
						if !up {
							got = e.Node
						}
					}
					if got != c.Name(i) {
						t.Fatalf("round %d, up %v: event %d is %#v, want %s", round, up, i, m, c.Name(i))
					}
					select {
					case ev := <-evs:
						if ev.Node != c.Name(i) || ev.Up != up {
							t.Fatalf("round %d: subscriber event %d is %+v, want %s up=%v", round, i, ev, c.Name(i), up)
						}
					case <-time.After(wait):
						t.Fatalf("round %d: no subscriber event %d", round, i)
					}
				}
			}
		}
		cancel()
	}
}

func receiveWithin(ib *node.Inbox, d time.Duration) (node.Msg, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return ib.Receive(ctx)
}

// Connect and Disconnect return only after their event reached the
// subscribers: a non-blocking read right after each finds it.
func TestNodeEventPublishedBeforeReturn(t *testing.T) {
	c := cluster(t, 2, nodetest.Options{Configure: func(_ int, cfg *node.Config) { cfg.NodeEventBuffer = 4 }})
	n1 := c.Node(0)
	ch, cancel := n1.SubscribeNodeEvents()
	defer cancel()
	next := func(what string, up bool) {
		t.Helper()
		select {
		case ev := <-ch:
			if ev.Up != up || ev.Node != c.Name(1) {
				t.Fatalf("after %s: event %+v", what, ev)
			}
		default:
			t.Fatalf("%s returned before its event was published", what)
		}
	}
	for range 300 {
		if !n1.Disconnect(c.Name(1)) {
			t.Fatal("disconnect: not connected")
		}
		next("Disconnect", false)
		if !n1.Connect(context.Background(), c.Name(1)) {
			t.Fatal("connect")
		}
		next("Connect", true)
	}
}

// SpawnAsync reports the new process to started on the process's own
// goroutine after Init, before it handles anything; an Init error is
// reported the same way; a started that returns false ends the process;
// an unknown kind fails at once without calling started.
func TestSpawnAsync(t *testing.T) {
	c := cluster(t, 1, nodetest.Options{})
	n := c.Node(0)
	type result struct {
		pid   node.PID
		err   error
		reply []byte
	}
	got := make(chan result, 1)
	err := n.SpawnAsync(node.KindEcho, nil, node.SpawnOpts{}, func(pid node.PID, err error) bool {
		if err != nil {
			got <- result{err: err}
			return false
		}
		// Queued before the process handles anything: its first call.
		n.CallAsync(pid, []byte("first"), time.Now().Add(wait), func(b []byte, err error) { got <- result{pid: pid, err: err, reply: b} })
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	r := <-got
	if r.err != nil || string(r.reply) != "first" || r.pid.IsZero() {
		t.Fatalf("first call: %+v", r)
	}

	err = n.SpawnAsync("probe", []byte(`{"FailInit":true}`), node.SpawnOpts{}, func(pid node.PID, err error) bool {
		got <- result{pid: pid, err: err}
		return true
	})
	if r := <-got; err != nil || !errors.Is(r.err, node.ErrInit) || !r.pid.IsZero() {
		t.Fatalf("failing Init: %v, reported %+v", err, r)
	}

	err = n.SpawnAsync(node.KindEcho, nil, node.SpawnOpts{}, func(pid node.PID, err error) bool {
		got <- result{pid: pid, err: err}
		return false // the spawner gave up
	})
	r = <-got
	if err != nil || r.err != nil {
		t.Fatalf("abandoned spawn: %v %+v", err, r)
	}
	gone := func() error {
		if _, err := n.ProcessInfo(r.pid); !errors.Is(err, node.ErrNoProc) {
			return fmt.Errorf("abandoned process %v: %v", r.pid, err)
		}
		return nil
	}
	poll.CheckFor(t, wait, gone)

	if err := n.SpawnAsync("no-such-kind", nil, node.SpawnOpts{}, func(node.PID, error) bool {
		t.Error("started called for an unknown kind")
		return false
	}); !errors.Is(err, node.ErrUnknownKind) {
		t.Fatalf("unknown kind: %v", err)
	}
}
