package placement_test

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/placement"
)

// TestRouteStartsOnOwner: requests from any node start each key's process
// on its owner only, and reach it there.
func TestRouteStartsOnOwner(t *testing.T) {
	t.Parallel()
	tc := newTestCluster(t, false)
	cs := tc.startN(3, nil)
	setView(cs, cs...)
	ctx := context.Background()
	for i := range 60 {
		key := keyName(i)
		for j, c := range cs {
			out, err := c.Call(ctx, kindCounter, key, []byte("inc"))
			if err != nil {
				t.Fatalf("call %s from %s: %v", key, c.Name(), err)
			}
			if string(out) != strconv.Itoa(j+1) {
				t.Fatalf("call %d to %s returned %s", j+1, key, out)
			}
		}
	}
	hosts := hostMap(cs, kindCounter)
	if len(hosts) != 60 {
		t.Fatalf("%d keys hosted, want 60", len(hosts))
	}
	for key, h := range hosts {
		if len(h) != 1 || h[0] != cs[0].Owner(key) {
			t.Fatalf("%s hosted on %v, owner %s", key, h, cs[0].Owner(key))
		}
	}
}

// TestEnsureWhereisSend: EnsureProcess starts the process and returns its
// PID on the owner; Whereis finds it (and nothing for an unknown key);
// sends from every node arrive, in order per sender.
func TestEnsureWhereisSend(t *testing.T) {
	t.Parallel()
	tc := newTestCluster(t, false)
	cs := tc.startN(3, nil)
	setView(cs, cs...)
	ctx := context.Background()
	pid, err := cs[0].EnsureProcess(ctx, kindCounter, "k")
	if err != nil {
		t.Fatal(err)
	}
	if pid.Node != cs[0].Owner("k") {
		t.Fatalf("process on %s, owner %s", pid.Node, cs[0].Owner("k"))
	}
	for _, c := range cs {
		got, err := c.Whereis(ctx, kindCounter, "k")
		if err != nil || got != pid {
			t.Fatalf("whereis from %s: %v %v, want %v", c.Name(), got, err, pid)
		}
	}
	if _, err := cs[1].Whereis(ctx, kindCounter, "nobody"); !errors.Is(err, placement.ErrNoProcess) {
		t.Fatalf("whereis of an unknown key: %v", err)
	}
	for i := 1; i <= 300; i++ {
		for j, c := range cs {
			if err := c.Send(ctx, kindCounter, "k", []byte("s"+strconv.Itoa(j)+" "+strconv.Itoa(i))); err != nil {
				t.Fatal(err)
			}
		}
	}
	waitFor(t, 5*time.Second, func() bool {
		st, err := getState(ctx, cs[2], kindCounter, "k")
		return err == nil && st.Count == 900
	}, "900 messages delivered")
	st, _ := getState(ctx, cs[2], kindCounter, "k")
	if st.Disorder != 0 {
		t.Fatalf("%d messages out of order", st.Disorder)
	}
}

// TestRequestErrors: bad arguments, unknown kinds, an empty view.
func TestRequestErrors(t *testing.T) {
	t.Parallel()
	tc := newTestCluster(t, false)
	c := tc.start(nil)
	setView([]*placement.Cluster{c}, c)
	ctx := context.Background()
	if _, err := c.Call(ctx, "nokind", "k", nil); !errors.Is(err, placement.ErrUnknownKind) {
		t.Fatalf("unknown kind: %v", err)
	}
	if err := c.Send(ctx, kindCounter, "", nil); !errors.Is(err, placement.ErrBadKey) {
		t.Fatalf("empty key: %v", err)
	}
	setView([]*placement.Cluster{c}) // nobody alive: no owner
	if _, err := c.Call(ctx, kindCounter, "k", nil); !errors.Is(err, placement.ErrNoMembers) {
		t.Fatalf("empty view: %v", err)
	}
	if c.Owner("k") != "" {
		t.Fatalf("owner in an empty view: %q", c.Owner("k"))
	}
}

// TestForwardAlongDisagreeingViews: a node whose view names another owner
// forwards (one hop here), and the request is served there.
func TestForwardAlongDisagreeingViews(t *testing.T) {
	t.Parallel()
	tc := newTestCluster(t, false)
	cs := tc.startN(3, nil)
	a, b, c := cs[0], cs[1], cs[2]
	setView(cs, a, b, c)
	setView([]*placement.Cluster{b, c}, a, c) // b and c believe b is gone
	key := findKey(t, func(k string) bool { return a.Owner(k) == b.Name() && b.Owner(k) == c.Name() })
	ctx := context.Background()
	if _, err := a.Call(ctx, kindCounter, key, []byte("inc")); err != nil {
		t.Fatal(err)
	}
	if h := hostMap(cs, kindCounter)[key]; len(h) != 1 || h[0] != c.Name() {
		t.Fatalf("%s hosted on %v, want %s", key, h, c.Name())
	}
	if b.Stats().Forwarded != 1 {
		t.Fatalf("b forwarded %d requests, want 1", b.Stats().Forwarded)
	}
	if err := a.Send(ctx, kindCounter, key, []byte("s 1")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 2*time.Second, func() bool {
		st, err := getState(ctx, c, kindCounter, key)
		return err == nil && st.Count == 2
	}, "forwarded send delivered")
}

// TestHopsBound: views that send a request round in circles end, after
// MaxHops forwards, in placement.ErrNotOwner naming the owner the last node
// believes in (a call) or a counted drop (a send).
func TestHopsBound(t *testing.T) {
	t.Parallel()
	tc := newTestCluster(t, false)
	cs := tc.startN(3, nil)
	a, b, c := cs[0], cs[1], cs[2]
	setView([]*placement.Cluster{a}, a, b, c)
	setView([]*placement.Cluster{b}, a, c)
	setView([]*placement.Cluster{c}, a, b)
	key := findKey(t, func(k string) bool {
		return a.Owner(k) == b.Name() && b.Owner(k) == c.Name() && c.Owner(k) == b.Name()
	})
	ctx := context.Background()
	_, err := a.Call(ctx, kindCounter, key, []byte("inc"))
	var notOwner *placement.NotOwnerError
	if !errors.As(err, &notOwner) || !errors.Is(err, placement.ErrNotOwner) || notOwner.Owner != c.Name() {
		t.Fatalf("call around the loop: %v, want placement.ErrNotOwner naming %s", err, c.Name())
	}
	// a -> b -> c -> b: b has used up MaxHops (2) and answers.
	if got := b.Stats().NotOwner; got != 1 {
		t.Fatalf("b answered placement.ErrNotOwner %d times", got)
	}
	if err := a.Send(ctx, kindCounter, key, []byte("s 1")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 2*time.Second, func() bool { return b.Stats().Dropped == 1 }, "the looping send counted as dropped")
	if h := hostMap(cs, kindCounter); len(h) != 0 {
		t.Fatalf("a process was started: %v", h)
	}
}

// TestNoForwarding: without forwarding a non-owner answers at once.
func TestNoForwarding(t *testing.T) {
	t.Parallel()
	tc := newTestCluster(t, false)
	ds := tc.startN(2, func(c *placement.Config) { c.MaxHops = placement.NoForwarding })
	a, b := ds[0], ds[1]
	setView([]*placement.Cluster{a}, a, b)
	setView([]*placement.Cluster{b}, a)
	key := findKey(t, func(k string) bool { return a.Owner(k) == b.Name() })
	if _, err := a.Call(context.Background(), kindCounter, key, nil); !errors.Is(err, placement.ErrNotOwner) {
		t.Fatalf("NoForwarding: %v", err)
	}
}

// TestQuorumRefuses: in quorum mode a node without quorum refuses its
// clients and the requests routed to it.
func TestQuorumRefuses(t *testing.T) {
	t.Parallel()
	tc := newTestCluster(t, false)
	cs := tc.startN(2, func(c *placement.Config) { c.Quorum = true })
	a, b := cs[0], cs[1]
	setView(cs, a, b)
	ctx := context.Background()
	key := findKey(t, func(k string) bool { return a.Owner(k) == b.Name() })
	if _, err := a.Call(ctx, kindCounter, key, nil); err != nil {
		t.Fatal(err)
	}
	if err := b.SetStaticView([]placement.StaticMember{a.StaticSelf(), b.StaticSelf()}, false); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Call(ctx, kindCounter, key, nil); !errors.Is(err, placement.ErrNoQuorum) {
		t.Fatalf("client on the minority: %v", err)
	}
	if _, err := a.Call(ctx, kindCounter, key, nil); !errors.Is(err, placement.ErrNoQuorum) {
		t.Fatalf("routed to the minority: %v", err)
	}
	if b.Stats().NoQuorum < 2 {
		t.Fatalf("no-quorum refusals not counted: %+v", b.Stats())
	}
}

// TestProcessExitRestarts: a keyed process that exits is started again on
// the next request.
func TestProcessExitRestarts(t *testing.T) {
	t.Parallel()
	tc := newTestCluster(t, false)
	c := tc.start(nil)
	setView([]*placement.Cluster{c}, c)
	ctx := context.Background()
	pid, err := c.EnsureProcess(ctx, kindCounter, "k")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Node().Exit(pid, node.Reason{Kind: node.Killed}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 2*time.Second, func() bool { return len(c.Hosted()) == 0 }, "entry removed after exit")
	pid2, err := c.EnsureProcess(ctx, kindCounter, "k")
	if err != nil || pid2 == pid {
		t.Fatalf("restart: %v %v (old %v)", pid2, err, pid)
	}
}

// TestSendFromKeepsSender: the process sees the sender given to SendFrom
// and can answer it; a closed cluster refuses requests and drains.
func TestSendFromKeepsSender(t *testing.T) {
	t.Parallel()
	tc := newTestCluster(t, false)
	cs := tc.startN(2, nil)
	setView(cs, cs...)
	key := findKey(t, func(k string) bool { return cs[0].Owner(k) == cs[0].Name() })
	ib, err := cs[1].Node().NewInbox()
	if err != nil {
		t.Fatal(err)
	}
	defer ib.Close()
	ctx := context.Background()
	if err := cs[1].SendFrom(ctx, ib.Self(), kindCounter, key, []byte("ping")); err != nil {
		t.Fatal(err)
	}
	tctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	msg, err := ib.Receive(tctx)
	if m, ok := msg.(node.Message); err != nil || !ok || string(m.Payload) != "pong" || m.From.Node != cs[0].Name() {
		t.Fatalf("got %#v %v", msg, err)
	}
	if err := cs[1].Close(); err != nil {
		t.Fatal(err)
	}
	if err := cs[1].Send(ctx, kindCounter, key, nil); !errors.Is(err, placement.ErrShutdown) {
		t.Fatalf("send after close: %v", err)
	}
	if err := cs[1].Drain(ctx); !errors.Is(err, placement.ErrShutdown) {
		t.Fatalf("drain after close: %v", err)
	}
}

// TestOwnerWithoutViewAskedAgain: a call routed to an owner whose own view
// has no members yet (it is starting, e.g. restarted under the same name,
// already in the caller's view) is asked again, and succeeds once the
// owner has its view; an owner that never gets one fails the call with
// ErrNoMembers after about a second, well before the call's deadline.
func TestOwnerWithoutViewAskedAgain(t *testing.T) {
	t.Parallel()
	tc := newTestCluster(t, false)
	cs := tc.startN(2, nil)
	setView(cs[:1], cs...) // only the caller knows the view
	var key string
	for i := 0; key == ""; i++ {
		if k := keyName(i); cs[0].Owner(k) == cs[1].Name() {
			key = k
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	if _, err := cs[0].Call(ctx, kindCounter, key, []byte("inc")); !errors.Is(err, placement.ErrNoMembers) {
		t.Fatalf("call to an owner without a view: %v, want ErrNoMembers", err)
	}
	if took := time.Since(start); took < 500*time.Millisecond || took > 5*time.Second {
		t.Fatalf("gave up after %v, want about a second", took)
	}
	done := make(chan error, 1)
	go func() {
		out, err := cs[0].Call(ctx, kindCounter, key, []byte("inc"))
		if err == nil && string(out) != "1" {
			err = errors.New("answered " + string(out))
		}
		done <- err
	}()
	setView(cs[1:], cs...)
	if err := <-done; err != nil {
		t.Fatalf("call while the owner's view arrives: %v", err)
	}
}
