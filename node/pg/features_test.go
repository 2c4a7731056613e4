package pg_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/node/nodetest"
	"github.com/placerhq/placer/node/pg"
)

// next receives the next event of a subscription.
func next(t *testing.T, sub *pg.Subscription) pg.Event {
	t.Helper()
	select {
	case ev, ok := <-sub.C:
		if !ok {
			t.Fatal("subscription closed")
		}
		return ev
	case <-time.After(wait):
		t.Fatal("no event")
	}
	return pg.Event{}
}

// pg:monitor and pg:monitor_scope: the members at the start, then every
// change, local and remote, in order.
func TestMonitor(t *testing.T) {
	c, scopes := cluster(t, 2, nodetest.Options{})
	a, b := inbox(t, c.Node(0)), inbox(t, c.Node(1))
	_ = scopes[0].Join("g", a.Self())
	waitMembers(t, scopes, "g", a.Self())
	group, err := scopes[1].Monitor("g")
	if err != nil {
		t.Fatal(err)
	}
	defer group.Cancel()
	whole, err := scopes[1].MonitorScope()
	if err != nil {
		t.Fatal(err)
	}
	defer whole.Cancel()
	if !slices.Equal(group.Members["g"], []node.PID{a.Self()}) || len(whole.Members) != 1 {
		t.Fatalf("initial members %v / %v", group.Members, whole.Members)
	}
	_ = scopes[1].Join("g", b.Self())
	_ = scopes[1].Join("other", b.Self())
	a.Close()
	for _, want := range []pg.Event{
		{Group: "g", Kind: pg.Joined, PIDs: []node.PID{b.Self()}},
		{Group: "g", Kind: pg.Left, PIDs: []node.PID{a.Self()}},
	} {
		if ev := next(t, group); ev.Group != want.Group || ev.Kind != want.Kind || !slices.Equal(ev.PIDs, want.PIDs) {
			t.Fatalf("group event %+v, want %+v", ev, want)
		}
	}
	kinds := ""
	for range 3 {
		ev := next(t, whole)
		kinds += ev.Group + ":" + ev.Kind.String() + " "
	}
	if kinds != "g:join other:join g:leave " {
		t.Fatalf("scope events %q", kinds)
	}
	if _, err := scopes[1].Monitor(""); !errors.Is(err, pg.ErrBadGroup) {
		t.Fatalf("monitor of an empty name: %v", err)
	}
}

// A subscriber that does not read never blocks the scope: the oldest
// events go, and the next one says how many.
func TestMonitorDropsOldest(t *testing.T) {
	c := nodetest.New(t, 1, nodetest.Options{})
	cfg := pg.DefaultConfig()
	cfg.EventBuffer = 2
	s := startScope(t, c.Node(0), cfg)
	sub, err := s.Monitor("g")
	if err != nil {
		t.Fatal(err)
	}
	a := inbox(t, c.Node(0))
	for range 5 {
		if err := s.Join("g", a.Self()); err != nil {
			t.Fatal(err)
		}
	}
	if lost := next(t, sub).Dropped + next(t, sub).Dropped; lost != 3 {
		t.Fatalf("the two events left report %d dropped, want 3", lost)
	}
	_ = s.Close()
	if _, ok := <-sub.C; ok {
		t.Fatal("subscription open after Close")
	}
	sub.Cancel() // after Close: harmless
	if _, err := s.MonitorScope(); !errors.Is(err, pg.ErrClosed) {
		t.Fatalf("monitor after close: %v", err)
	}
	if err := s.Join("g", a.Self()); !errors.Is(err, pg.ErrClosed) {
		t.Fatalf("join after close: %v", err)
	}
	if m := s.Members("g"); m != nil {
		t.Fatalf("members after close: %v", m)
	}
}

// echoKind answers every call with its request and forwards messages to
// the PID in its args.
func echoConfig(_ int, cfg *node.Config) {
	cfg.Kinds = map[string]node.KindFactory{"fwd": func() node.Behavior { return &fwd{} }}
}

type fwd struct {
	node.Base
	to node.PID
}

func (f *fwd) Init(p *node.Proc, args []byte) error {
	var err error
	f.to, err = node.Decode[node.PID](p, args)
	return err
}

func (f *fwd) HandleMessage(p *node.Proc, m node.Msg) {
	if msg, ok := m.(node.Message); ok {
		_ = p.Send(f.to, append([]byte(p.Self().Node+":"), msg.Payload...))
	}
}

func (f *fwd) HandleCall(p *node.Proc, _ node.PID, req []byte) ([]byte, error) {
	if string(req) == "fail" {
		return nil, errors.New("refused")
	}
	return append([]byte(p.Self().Node+":"), req...), nil
}

func spawnFwd(t *testing.T, n *node.Node, to node.PID) node.PID {
	t.Helper()
	args, _ := n.Codec().Marshal(to)
	pid, err := n.Spawn(context.Background(), "fwd", args, node.SpawnOpts{})
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// Publish reaches every member once; MultiCall answers per member.
func TestPublishAndMultiCall(t *testing.T) {
	c, scopes := cluster(t, 3, nodetest.Options{Configure: echoConfig})
	sink := inbox(t, c.Node(0))
	var members []node.PID
	for i := range 3 {
		p := spawnFwd(t, c.Node(i), sink.Self())
		if err := scopes[i].Join("g", p, p); err != nil { // twice: still one message, one call
			t.Fatal(err)
		}
		members = append(members, p, p)
	}
	waitMembers(t, scopes, "g", members...)
	if err := scopes[1].Publish("g", []byte("hi")); err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for range 3 {
		m := nodetest.Expect(t, sink, wait, "published", func(m node.Msg) bool { _, ok := m.(node.Message); return ok })
		got[string(m.(node.Message).Payload)]++
	}
	for i := range 3 {
		if got[c.Name(i)+":hi"] != 1 {
			t.Fatalf("published messages %v", got)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	replies, bad := scopes[2].MultiCall(ctx, "g", []byte("q"))
	if len(replies) != 3 || len(bad) != 0 {
		t.Fatalf("multicall: %v %v", replies, bad)
	}
	for pid, r := range replies {
		if string(r) != pid.Node+":q" {
			t.Fatalf("reply of %v: %q", pid, r)
		}
	}
	_, bad = scopes[0].MultiCall(ctx, "g", []byte("fail"))
	for _, err := range bad {
		if !errors.Is(err, node.ErrHandler) {
			t.Fatalf("failure %v", err)
		}
	}
	if len(bad) != 3 {
		t.Fatalf("failures %v", bad)
	}
}

// Hidden nodes take no part in the exchange; scopes are independent.
func TestHiddenAndScopes(t *testing.T) {
	c, scopes := cluster(t, 2, nodetest.Options{})
	h, err := c.Add("hidden@127.0.0.1", func(cfg *node.Config, _ *[]byte) { cfg.Hidden = true })
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Node.ConnectErr(context.Background(), c.Name(0)); err != nil {
		t.Fatal(err)
	}
	hs := startScope(t, h.Node, pg.DefaultConfig())
	hp := inbox(t, h.Node)
	if err := hs.Join("g", hp.Self()); err != nil {
		t.Fatal(err)
	}
	other := pg.DefaultConfig()
	other.Scope = "other"
	os0 := startScope(t, c.Node(0), other)
	os1 := startScope(t, c.Node(1), other)
	a := inbox(t, c.Node(0))
	_ = os0.Join("g", a.Self())
	waitMembers(t, []*pg.Scope{os0, os1}, "g", a.Self())
	_ = scopes[1].Join("g", a.Self()) // not local: refused
	b := inbox(t, c.Node(1))
	_ = scopes[1].Join("g", b.Self())
	waitMembers(t, scopes, "g", b.Self())
	if got := hs.Members("g"); !slices.Equal(got, []node.PID{hp.Self()}) {
		t.Fatalf("the hidden node sees %v", got)
	}
	if p := scopes[0].Peers(); !slices.Equal(p, []string{c.Name(1)}) {
		t.Fatalf("peers %v", p)
	}
}

// A crashed node's members vanish everywhere; its scope's goroutines end
// with the node.
func TestCrash(t *testing.T) {
	c, scopes := cluster(t, 3, nodetest.Options{})
	b := inbox(t, c.Node(1))
	a := inbox(t, c.Node(0))
	_ = scopes[0].Join("g", a.Self())
	_ = scopes[1].Join("g", b.Self())
	waitMembers(t, scopes, "g", a.Self(), b.Self())
	if err := c.Crash(1); err != nil {
		t.Fatal(err)
	}
	waitMembers(t, []*pg.Scope{scopes[0], scopes[2]}, "g", a.Self())
	_ = scopes[1].Close() // returns: its goroutines ended with the node
}

// Groups on TCP: the same behaviour on the real transport.
func TestTCP(t *testing.T) {
	c, scopes := cluster(t, 3, nodetest.Options{Transport: nodetest.TCP})
	a := inbox(t, c.Node(2))
	if err := scopes[2].Join("g", a.Self()); err != nil {
		t.Fatal(err)
	}
	waitMembers(t, scopes, "g", a.Self())
	if !c.Node(0).Disconnect(c.Name(2)) {
		t.Fatal("not connected")
	}
	waitMembers(t, scopes[:1], "g")
	if err := c.ConnectAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitMembers(t, scopes, "g", a.Self())
}

// A sync larger than MaxMessageSize arrives in several messages and adds
// up to the whole membership.
func TestLargeSync(t *testing.T) {
	c := nodetest.New(t, 2, nodetest.Options{})
	if err := c.ConnectAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	cfg := pg.DefaultConfig()
	cfg.MaxMessageSize = 1024
	s0 := startScope(t, c.Node(0), cfg)
	var pids []node.PID
	for i := range 600 {
		p := inbox(t, c.Node(0)).Self()
		if err := s0.Join([]string{"a", "b"}[i%2], p); err != nil {
			t.Fatal(err)
		}
		pids = append(pids, p)
	}
	s1 := startScope(t, c.Node(1), cfg) // learns everything from one split sync
	nodetest.WaitFor(t, wait, "the whole sync", func() bool {
		return len(s1.Members("a")) == 300 && len(s1.Members("b")) == 300
	})
	joined := map[node.PID]bool{}
	for _, p := range pids {
		joined[p] = true
	}
	for _, p := range append(s1.Members("a"), s1.Members("b")...) {
		if !joined[p] {
			t.Fatalf("%v synced as a member, but never joined", p)
		}
		delete(joined, p) // each once
	}
	if st := s0.Stats(); st.Sent < 3 { // a discover and a sync of 1.2 KB of ids in two parts
		t.Fatalf("a sync of 600 members and a discover in %d messages of 1 KiB", st.Sent)
	}
	bad := pg.DefaultConfig()
	bad.MaxMessageSize = 100
	if _, err := pg.Start(c.Node(1), bad); !errors.Is(err, pg.ErrBadConfig) {
		t.Fatalf("tiny MaxMessageSize: %v", err)
	}
	if _, err := pg.Start(c.Node(1), pg.DefaultConfig()); err == nil {
		t.Fatal("a second scope of one name on one node")
	}
}
