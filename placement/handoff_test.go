package placement_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/placement"
	"github.com/placerhq/placer/placement/placementtest"
	"github.com/placerhq/placer/ring"
)

// TestHandoffOnJoinUnderTraffic: a third node joins the views of two
// nodes hosting 300 stateful keys while traffic flows from all three;
// exactly the keys the new node owns move, with their state, and every
// message arrives once, in order.
func TestHandoffOnJoinUnderTraffic(t *testing.T) {
	t.Parallel()
	tc := newTestCluster(t, false)
	cs := tc.startN(3, nil)
	setView(cs, cs[0], cs[1])
	const keys = 300
	born := createKeys(t, cs[0], kindCounter, keys)
	oldRing := cs[0].View().Ring()
	tr := startTraffic(t, cs, kindCounter, keys, 6)
	setView(cs, cs...)
	settled(t, 10*time.Second, cs, kindCounter)
	tr.Halt()
	newRing := cs[0].View().Ring()
	moved := 0
	for i := range keys {
		k := keyName(i)
		if o, n := oldRing.LocateString(k), newRing.LocateString(k); o != n {
			moved++
			if n != cs[2].Name() {
				t.Fatalf("%s moved %s -> %s, not to the new node", k, o, n)
			}
		}
	}
	if got := cs[2].Stats().Imported; got != uint64(moved) {
		t.Fatalf("new node imported %d keys, ring math says %d", got, moved)
	}
	tc.checkDelivered(cs[1], kindCounter, tr, born)
	t.Logf("%d of %d keys moved, %d messages", moved, keys, tr.Total())
}

// TestDrainUnderTraffic: a node hosting stateful keys drains while
// traffic flows; its keys move to the others with nothing lost.
func TestDrainUnderTraffic(t *testing.T) {
	t.Parallel()
	tc := newTestCluster(t, false)
	cs := tc.startN(3, nil)
	setView(cs, cs...)
	const keys = 300
	born := createKeys(t, cs[1], kindCounter, keys)
	leaver := cs[0]
	if len(leaver.Hosted()) == 0 {
		t.Fatal("the leaving node hosts nothing")
	}
	tr := startTraffic(t, cs[1:], kindCounter, keys, 4)
	done := make(chan error, 1)
	go func() { done <- leaver.Drain(context.Background()) }()
	// The others learn of the drain only after its pushes began (as gossip
	// would tell them later), so the first offers are refused and retried.
	waitFor(t, 10*time.Second, func() bool { return leaver.Stats().HandoffsStarted > 0 }, "no push started")
	ms := make([]placement.StaticMember, len(cs))
	for i, c := range cs {
		ms[i] = c.StaticSelf()
		ms[i].Draining = c == leaver
	}
	for _, c := range cs[1:] {
		if err := c.SetStaticView(ms, true); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	settled(t, 10*time.Second, cs, kindCounter)
	tr.Halt()
	tc.checkDelivered(cs[2], kindCounter, tr, born)
	if n := len(leaver.Hosted()); n != 0 {
		t.Fatalf("drained node still hosts %d keys", n)
	}
}

// TestHandoffDownCarriesNewPID: a monitor of a moved process gets DOWN
// with reason handoff and the new PID, and a send to the old PID still
// arrives (forwarded during the grace period).
func TestHandoffDownCarriesNewPID(t *testing.T) {
	t.Parallel()
	tc := newTestCluster(t, false)
	cs := tc.startN(2, nil)
	a, b := cs[0], cs[1]
	setView(cs, a)
	key := findKey(t, func(k string) bool { return buildTestRing(t, a, b).LocateString(k) == b.Name() })
	ctx := context.Background()
	old, err := a.EnsureProcess(ctx, kindCounter, key)
	if err != nil {
		t.Fatal(err)
	}
	ib, err := b.Node().NewInbox()
	if err != nil {
		t.Fatal(err)
	}
	defer ib.Close()
	ref := ib.Monitor(old)
	setView(cs, a, b)
	msg, err := ib.Receive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	d, ok := msg.(node.Down)
	if !ok || d.Ref != ref || d.Reason.Kind != node.Handoff {
		t.Fatalf("got %#v, want DOWN handoff", msg)
	}
	now, err := b.Whereis(ctx, kindCounter, key)
	if err != nil || now != d.Reason.NewPID || now.Node != b.Name() {
		t.Fatalf("whereis %v %v, DOWN says %v", now, err, d.Reason.NewPID)
	}
	if err := ib.Send(old, []byte("x 1")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 2*time.Second, func() bool {
		st, err := getState(ctx, b, kindCounter, key)
		return err == nil && st.Count == 1
	}, "send to the old PID forwarded")
}

// buildTestRing is the ring a static view of cs has (the harness's
// VNodes, weight 1 each).
func buildTestRing(t *testing.T, cs ...*placement.Cluster) *ring.Ring {
	t.Helper()
	cfg := ring.DefaultConfig()
	cfg.VNodes = cs[0].View().Ring().(*ring.Ring).Config().VNodes
	ms := make([]ring.Member, len(cs))
	for i, c := range cs {
		ms[i] = ring.Member{Name: c.Name(), Weight: 1}
	}
	r, err := ring.New(cfg, ms...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestPlainKindRestartsFresh: a kind without StateExporter restarts fresh
// on its new owner; messages buffered meanwhile still arrive.
func TestPlainKindRestartsFresh(t *testing.T) {
	t.Parallel()
	tc := newTestCluster(t, false)
	cs := tc.startN(2, nil)
	a, b := cs[0], cs[1]
	setView(cs, a)
	key := findKey(t, func(k string) bool { return buildTestRing(t, a, b).LocateString(k) == b.Name() })
	ctx := context.Background()
	st0, err := getState(ctx, a, kindPlain, key)
	if err != nil {
		t.Fatal(err)
	}
	setView(cs, a, b)
	settled(t, 5*time.Second, cs, kindPlain)
	st1, err := getState(ctx, a, kindPlain, key)
	if err != nil || st1.Born == st0.Born || st1.Count != 0 {
		t.Fatalf("after the move: %+v %v (before %+v)", st1, err, st0)
	}
}

// TestPullWaitsForOldOwner: the new owner gets traffic for a key before
// the old owner knows it lost the key; it asks the old owner, waits, and
// receives the process with its state and every message.
func TestPullWaitsForOldOwner(t *testing.T) {
	t.Parallel()
	tc := newTestCluster(t, false)
	cs := tc.startN(2, nil)
	a, b := cs[0], cs[1]
	setView(cs, a)
	key := findKey(t, func(k string) bool { return buildTestRing(t, a, b).LocateString(k) == b.Name() })
	ctx := context.Background()
	born := map[string]string{}
	st, err := getState(ctx, a, kindCounter, key)
	if err != nil {
		t.Fatal(err)
	}
	born[key] = st.Born
	setView([]*placement.Cluster{b}, a, b) // b knows it owns the key; a does not yet
	for i := 1; i <= 20; i++ {
		if err := b.Send(ctx, kindCounter, key, []byte(fmt.Sprintf("s %d", i))); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 2*time.Second, func() bool { return b.Stats().Pulls >= 2 }, "b pulls")
	if h := b.Hosted(); len(h) != 1 || h[0].State != "pulling" {
		t.Fatalf("b: %+v, want one pulling entry", h)
	}
	setView([]*placement.Cluster{a}, a, b)
	settled(t, 5*time.Second, cs, kindCounter)
	waitFor(t, 2*time.Second, func() bool {
		st, err = getState(ctx, b, kindCounter, key)
		return err == nil && st.Count == 20
	}, "20 messages delivered: %+v", st)
	if st.Born != born[key] || st.Disorder != 0 {
		t.Fatalf("state %+v, born %s", st, born[key])
	}
}

// TestConflictOnMerge: two nodes that each saw only themselves both run a
// key; when their views merge, the owner's copy stays, the other stops,
// its queued messages reach the winner, and the conflict is reported with
// the loser's state.
func TestConflictOnMerge(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var events []placement.Event
	var conflicts []placement.Conflict
	tc := newTestCluster(t, false)
	cs := tc.startN(2, func(c *placement.Config) {
		c.Events = func(e placement.Event) {
			mu.Lock()
			defer mu.Unlock()
			if e.Type == placement.EventConflict {
				events = append(events, e)
			}
		}
		c.Conflict = func(cf placement.Conflict) {
			mu.Lock()
			defer mu.Unlock()
			conflicts = append(conflicts, cf)
		}
	})
	a, b := cs[0], cs[1]
	setView([]*placement.Cluster{a}, a)
	setView([]*placement.Cluster{b}, b)
	const keys = 40
	ctx := context.Background()
	for i := range keys {
		for _, c := range cs {
			if _, err := c.Call(ctx, kindCounter, keyName(i), []byte("inc")); err != nil {
				t.Fatal(err)
			}
		}
	}
	if h := hostMap(cs, kindCounter); len(h[keyName(0)]) != 2 {
		t.Fatalf("no duplicate before the merge: %v", h)
	}
	setView(cs, a, b)
	settled(t, 5*time.Second, cs, kindCounter)
	waitFor(t, 2*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(events) == keys && len(conflicts) == keys
	}, "conflict events")
	mu.Lock()
	defer mu.Unlock()
	byKey := map[string]placement.Conflict{}
	for _, cf := range conflicts {
		byKey[cf.Key] = cf
	}
	for _, e := range events {
		cf := byKey[e.Key]
		if e.To != a.Owner(e.Key) || e.From == e.To || !e.Exported || !e.Merged || e.StateBytes == 0 {
			t.Fatalf("event %+v", e)
		}
		if cf.Winner != e.To || cf.Loser != e.From || len(cf.State) != e.StateBytes || cf.WinnerPID.Node != cf.Winner {
			t.Fatalf("conflict %+v for event %+v", cf, e)
		}
	}
	if got := a.Stats().Conflicts + b.Stats().Conflicts; got != keys {
		t.Fatalf("%d conflicts counted", got)
	}
}

// TestHandoffWaitsForNewOwnerView: the old owner's view moves a key to a
// node whose view does not agree yet; the push is refused ("not yet")
// until HandoffTimeout, the process thaws and serves what waited, a
// failed handoff is reported, and once the new owner agrees the next
// reconcile moves the key with its state and every message.
func TestHandoffWaitsForNewOwnerView(t *testing.T) {
	t.Parallel()
	var failed sync.WaitGroup
	failed.Add(1)
	var once sync.Once
	tc := newTestCluster(t, false)
	cs := tc.startN(2, func(c *placement.Config) {
		c.HandoffTimeout = 300 * time.Millisecond
		c.Events = func(e placement.Event) {
			if e.Type == placement.EventHandoffFailed {
				once.Do(failed.Done)
			}
		}
	})
	a, b := cs[0], cs[1]
	setView(cs, a)
	key := findKey(t, func(k string) bool { return buildTestRing(t, a, b).LocateString(k) == b.Name() })
	ctx := context.Background()
	st, err := getState(ctx, a, kindCounter, key)
	if err != nil {
		t.Fatal(err)
	}
	setView([]*placement.Cluster{a}, a, b) // a pushes to b ...
	setView([]*placement.Cluster{b}, a)    // ... whose view leaves b out
	for i := 1; i <= 10; i++ {
		if err := a.Send(ctx, kindCounter, key, []byte(fmt.Sprintf("s %d", i))); err != nil {
			t.Fatal(err)
		}
	}
	failed.Wait()
	if a.Stats().HandoffsFailed == 0 {
		t.Fatal("no failed handoff counted")
	}
	setView([]*placement.Cluster{b}, a, b)
	settled(t, 5*time.Second, cs, kindCounter)
	got, err := getState(ctx, b, kindCounter, key)
	if err != nil || got.Count != 10 || got.Born != st.Born || got.Disorder != 0 {
		t.Fatalf("after the move: %+v %v (born %s)", got, err, st.Born)
	}
}

// gatedExport is a counter whose export records how many exports run at
// once (each handoff exports once, inside its push) and waits until the
// test opens the gate.
type gatedExport struct {
	placementtest.ExportingCounter
	g *exportGate
}

type exportGate struct {
	inFlight atomic.Int32
	peak     atomic.Int32
	open     chan struct{}
}

func (s *gatedExport) ExportState(p *node.Proc) ([]byte, error) {
	g := s.g
	n := g.inFlight.Add(1)
	defer g.inFlight.Add(-1)
	for {
		old := g.peak.Load()
		if n <= old || g.peak.CompareAndSwap(old, n) {
			break
		}
	}
	<-g.open
	return s.ExportingCounter.ExportState(p)
}

// TestMigrationBudgetBoundsHandoffs: a node that must hand off 100s of keys
// at once runs MigrationBudget handoffs at a time, never more. Exports
// block until budget of them run at once, so any schedule reaches it;
// while they block, no further handoff may start.
func TestMigrationBudgetBoundsHandoffs(t *testing.T) {
	t.Parallel()
	const budget, keys, kind = 3, 300, "gated-export"
	g := &exportGate{open: make(chan struct{})}
	var release sync.Once
	openGate := func() { release.Do(func() { close(g.open) }) }
	tc := newTestCluster(t, false)
	cs := tc.startN(3, func(c *placement.Config) {
		c.MigrationBudget = budget
		c.HandoffTimeout = 20 * time.Second
		c.Kinds[kind] = func() node.Behavior { return &gatedExport{g: g} }
	})
	t.Cleanup(openGate) // a failure below must not leave exports blocked while the nodes close
	setView(cs, cs[0])
	createKeys(t, cs[0], kind, keys)
	setView(cs, cs...)
	waitFor(t, 10*time.Second, func() bool { return g.inFlight.Load() == budget }, "%v", lazy(func() string {
		return fmt.Sprintf("%d exports at once, want %d", g.inFlight.Load(), budget)
	}))
	// A node that ran more workers would start another handoff now.
	for end := time.Now().Add(100 * time.Millisecond); time.Now().Before(end); time.Sleep(time.Millisecond) {
		if n := g.inFlight.Load(); n > budget {
			t.Fatalf("%d handoffs at once, budget %d", n, budget)
		}
	}
	openGate()
	settled(t, 30*time.Second, cs, kind)
	moved := cs[1].Stats().Imported + cs[2].Stats().Imported
	if moved < keys/3 {
		t.Fatalf("only %d of %d keys moved", moved, keys)
	}
	if p := g.peak.Load(); p != budget {
		t.Fatalf("%d keys moved with at most %d handoffs at once; want %d", moved, p, budget)
	}
}

// TestEventsOnJoin: when a view change moves keys away, the node reports
// the view change with its member count and number of moves, then one
// started and one finished handoff per moved key, to the key's new owner.
func TestEventsOnJoin(t *testing.T) {
	t.Parallel()
	const keys = 200
	var mu sync.Mutex
	var evs []placement.Event
	tc := newTestCluster(t, false)
	cs := tc.startN(3, nil)
	first := tc.start(func(c *placement.Config) {
		c.Events = func(e placement.Event) { mu.Lock(); evs = append(evs, e); mu.Unlock() }
	})
	all := append([]*placement.Cluster{first}, cs...)
	setView(all, first)
	createKeys(t, first, kindCounter, keys)
	// The view change plans the moves of the keys active at that moment
	// (a key still starting is pushed when it activates): wait for all.
	settled(t, 10*time.Second, all, kindCounter)
	setView(all, all...)
	settled(t, 10*time.Second, all, kindCounter)
	newRing := first.View().Ring()
	want := map[string]string{} // moved key -> new owner
	for i := range keys {
		if o := newRing.LocateString(keyName(i)); o != first.Name() {
			want[keyName(i)] = o
		}
	}
	count := func(typ placement.EventType) int {
		n := 0
		for _, e := range evs {
			if e.Type == typ {
				n++
			}
		}
		return n
	}
	waitFor(t, 5*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return count(placement.EventHandoffFinished) >= len(want)
	}, "handoff-finished events: %v", lazy(func() string {
		mu.Lock()
		defer mu.Unlock()
		return fmt.Sprintf("%d of %d", count(placement.EventHandoffFinished), len(want))
	}))
	mu.Lock()
	defer mu.Unlock()
	var view *placement.Event
	for i := range evs {
		if evs[i].Type == placement.EventViewChanged && evs[i].Members == 4 {
			view = &evs[i]
		}
	}
	if view == nil || view.Moves != len(want) || view.Epoch == 0 || view.Node != first.Name() {
		t.Fatalf("view-changed event %+v, want 4 members and %d moves", view, len(want))
	}
	// Per moved key: started, then (failed, started)* on retries, then
	// exactly one finished, to the key's new owner. No other key moves.
	seq := map[string][]placement.Event{}
	for _, e := range evs {
		switch e.Type {
		case placement.EventHandoffStarted, placement.EventHandoffFailed, placement.EventHandoffFinished:
			seq[e.Key] = append(seq[e.Key], e)
		}
	}
	if len(seq) != len(want) {
		t.Fatalf("handoff events for %d keys, want the %d moved keys", len(seq), len(want))
	}
	for k, to := range want {
		if err := checkHandoffEvents(seq[k], first.Name(), to); err != nil {
			t.Fatalf("%s: %v", k, err)
		}
	}
	if d := first.Stats().EventsDropped; d != 0 {
		t.Fatalf("%d events dropped", d)
	}
}

// checkHandoffEvents checks one key's handoff events from node from: a
// start, any number of failed attempts each followed by a new start, and
// one finish to node to.
func checkHandoffEvents(evs []placement.Event, from, to string) error {
	for i, e := range evs {
		want := placement.EventHandoffStarted
		switch {
		case i == len(evs)-1:
			want = placement.EventHandoffFinished
		case i%2 == 1:
			want = placement.EventHandoffFailed
		}
		if e.Type != want || e.From != from {
			return fmt.Errorf("event %d of %d is %v from %s, want %v from %s", i+1, len(evs), e.Type, e.From, want, from)
		}
	}
	if len(evs)%2 != 0 {
		return fmt.Errorf("%d events: a start without its end", len(evs))
	}
	if last := evs[len(evs)-1]; last.To != to {
		return fmt.Errorf("finished to %s, the ring says %s", last.To, to)
	}
	return nil
}
