package placement_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/placement"
	"github.com/placerhq/placer/placement/membership"
	"github.com/placerhq/placer/placement/placementtest"
)

// The tests in this file run real Serf (local profile) on 127.0.0.1
// through a FaultNet, with the node transport on memnet (or TCP).

// TestSerfJoinMovesOnlyNewShare: a fourth node joins three that host 400
// stateful keys; exactly the keys the ring gives the new node move, to it,
// with their state.
func TestSerfJoinMovesOnlyNewShare(t *testing.T) {
	t.Parallel()
	tc := newTestCluster(t, true)
	cs := tc.startN(3, nil)
	converged(t, serfTimeout, cs, 3)
	const keys = 400
	born := createKeys(t, cs[0], kindCounter, keys)
	before := hostMap(cs, kindCounter)
	oldRing := cs[0].View().Ring()
	cs = append(cs, tc.start(nil))
	converged(t, serfTimeout, cs, 4)
	settled(t, serfTimeout, cs, kindCounter)
	newRing := cs[0].View().Ring()
	after := hostMap(cs, kindCounter)
	moved := 0
	for i := range keys {
		k := keyName(i)
		changed := oldRing.LocateString(k) != newRing.LocateString(k)
		if changed != (before[k][0] != after[k][0]) {
			t.Fatalf("%s: ring says moved=%v, hosts %v -> %v", k, changed, before[k], after[k])
		}
		if changed {
			moved++
			if after[k][0] != cs[3].Name() {
				t.Fatalf("%s moved to %s, not the new node", k, after[k][0])
			}
		}
	}
	if moved == 0 {
		t.Fatal("nothing moved")
	}
	for i := range keys {
		k := keyName(i)
		// The original state is on the owner, or (after a false failure)
		// was handed to the Conflict callback, which runs asynchronously.
		placementtest.CheckFor(t, 5*time.Second, func() error {
			st, err := getState(context.Background(), cs[2], kindCounter, k)
			lost := tc.LostStates(k)
			if err != nil || (st.Born != born[k] && !slices.ContainsFunc(lost, func(l counterState) bool { return l.Born == born[k] })) {
				return fmt.Errorf("%s: state lost: %+v %v (lost copies %+v)", k, st, err, lost)
			}
			return nil
		})
	}
	if n := tc.Conflicts(); n > 0 && tc.FalseFailures() == 0 {
		t.Fatalf("%d conflicts with no member declared failed", n)
	}
	t.Logf("%d of %d keys moved (ideal %d)", moved, keys, keys/4)
}

// TestSerfLeaveUnderTraffic: a node hosting a share of 1,000 stateful keys
// leaves gracefully under continuous traffic: no state and no message is
// lost, and nothing arrives out of order.
func TestSerfLeaveUnderTraffic(t *testing.T) {
	t.Parallel()
	leaveUnderTraffic(t, newTestCluster(t, true, placementtest.Options{Configure: lanProfile}))
}

// lanProfile gives a gossip test the lan profile's failure detection
// (a 500 ms probe timeout and seconds of suspicion instead of 100 and
// 600 ms): under -race with CPU hogs on two cores, the local profile
// declares live nodes failed, views flap, and requests for keys whose
// previous owners disagree wait out HandoffTimeout. Tests about a
// graceful change use it; tests about failure detection keep local.
func lanProfile(_ int, cfg *placement.Config) { cfg.Membership.Profile = membership.ProfileLAN }

// TestSerfLeaveUnderTrafficTCP is the same on the TCP transport, whose
// ordering (per sender, small frames) the handoff relies on too.
func TestSerfLeaveUnderTrafficTCP(t *testing.T) {
	t.Parallel()
	leaveUnderTraffic(t, newTestCluster(t, true, placementtest.Options{TCP: true, Configure: lanProfile}))
}

func leaveUnderTraffic(t *testing.T, tc *testCluster) {
	cs := tc.startN(4, nil)
	converged(t, serfTimeout, cs, 4)
	const keys = 1000
	born := createKeys(t, cs[0], kindCounter, keys)
	leaver, stay := cs[1], []*placement.Cluster{cs[0], cs[2], cs[3]}
	hosted := len(leaver.Hosted())
	tr := startTraffic(t, stay, kindCounter, keys, 6)
	start := time.Now()
	if err := tc.Leave(context.Background(), leaver); err != nil {
		t.Fatalf("leave: %v", err)
	}
	took := time.Since(start)
	converged(t, serfTimeout, stay, 3)
	settled(t, serfTimeout, stay, kindCounter)
	if err := tr.Flowing(context.Background(), 100); err != nil { // traffic after the leave reaches the new owners too
		t.Fatal(err)
	}
	tc.checkDelivered(stay[0], kindCounter, tr, born)
	var dropped, buffered uint64
	for _, c := range stay {
		dropped += c.Stats().Dropped
		buffered += c.Stats().Buffered
	}
	if dropped != 0 {
		t.Fatalf("%d sends dropped", dropped)
	}
	t.Logf("left with %d keys in %v; %d messages sent, %d send errors (last %v), %d requests buffered",
		hosted, took, tr.Total(), tr.Errors(), tr.LastError(), buffered)
}

// TestSerfKillReowns: a node crashes; once Serf marks it failed its keys
// are served again (restarted fresh on their new owners), and monitors of
// its processes got DOWN noconnection.
func TestSerfKillReowns(t *testing.T) {
	t.Parallel()
	tc := newTestCluster(t, true)
	cs := tc.startN(3, nil)
	converged(t, serfTimeout, cs, 3)
	const keys = 200
	createKeys(t, cs[0], kindCounter, keys)
	victim, survivors := cs[2], cs[:2]
	var watched node.PID
	for _, h := range victim.Hosted() {
		watched = h.PID
		break
	}
	ib, err := survivors[0].Node().NewInbox()
	if err != nil {
		t.Fatal(err)
	}
	defer ib.Close()
	ref := ib.Monitor(watched)
	if err := tc.Crash(victim); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	ctx := context.Background()
	msg, err := ib.Receive(ctx)
	if d, ok := msg.(node.Down); err != nil || !ok || d.Ref != ref || d.Reason.Kind != node.NoConnection {
		t.Fatalf("monitor got %#v %v, want DOWN noconnection", msg, err)
	}
	converged(t, serfTimeout, survivors, 2)
	for i := range keys {
		placementtest.CheckFor(t, serfTimeout, func() error {
			_, err := survivors[i%2].Call(ctx, kindCounter, keyName(i), []byte("inc"))
			return err
		})
	}
	t.Logf("every key served again %v after the kill", time.Since(killed))
	settled(t, serfTimeout, survivors, kindCounter)
}

// TestSerfFailedMemberDisconnected: when Serf declares a member failed,
// the transport connection to it is closed (Erlang's nodedown): a call in
// flight to it fails with node.ErrNoConnection at once, instead of waiting
// until the connection's own heartbeat gives up, which a silent link (a
// cut cable, an isolated host) leaves to the transport's 2 s heartbeat
// timeout and a link that still carries frames never does. Here only the
// gossip is cut, so the transport stays healthy: without the disconnect
// the call would wait out its whole timeout.
func TestSerfFailedMemberDisconnected(t *testing.T) {
	t.Parallel()
	tc := newTestCluster(t, true)
	cs := tc.startN(3, nil)
	converged(t, serfTimeout, cs, 3)
	victim := cs[2]
	ib, err := victim.Node().NewInbox() // never answers
	if err != nil {
		t.Fatal(err)
	}
	defer ib.Close()
	done := make(chan error, 1)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	go func() {
		_, err := cs[0].Node().Call(ctx, ib.Self(), []byte("hello"))
		done <- err
	}()
	placementtest.CheckFor(t, serfTimeout, func() error {
		if p := cs[0].Node().Stats().PendingCalls; p != 1 {
			return fmt.Errorf("%d calls pending, want the one to the victim", p)
		}
		return nil
	})
	tc.FaultNet().Isolate(victim.Membership().GossipAddr())
	cut := time.Now()
	converged(t, serfTimeout, cs[:2], 2)
	select {
	case err := <-done:
		if !errors.Is(err, node.ErrNoConnection) {
			t.Fatalf("the call in flight to the failed member: %v, want ErrNoConnection", err)
		}
		t.Logf("answered %v after the gossip cut", time.Since(cut).Round(time.Millisecond))
	case <-time.After(serfTimeout):
		t.Fatalf("the call in flight to a member declared failed was not answered %v after the cut", time.Since(cut).Round(time.Millisecond))
	}
}

// TestSerfPartitionHeal: a 2|3 partition; both sides write every key, so
// each key runs on both sides; after the heal exactly one process per key
// remains (within 5 s of the views merging) and each duplicate was
// reported as a conflict.
func TestSerfPartitionHeal(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	conflicts := map[string]int{}
	tc := newTestCluster(t, true)
	cs := tc.startN(5, func(c *placement.Config) {
		c.Events = func(e placement.Event) {
			if e.Type == placement.EventConflict {
				mu.Lock()
				conflicts[e.Key]++
				mu.Unlock()
			}
		}
	})
	converged(t, serfTimeout, cs, 5)
	small, big := cs[:2], cs[2:]
	tc.Partition(small, big)
	converged(t, serfTimeout, small, 2)
	converged(t, serfTimeout, big, 3)
	const keys = 100
	createKeys(t, small[0], kindCounter, keys)
	createKeys(t, big[0], kindCounter, keys)
	if h := hostMap(cs, kindCounter); len(h[keyName(0)]) != 2 {
		t.Fatalf("no duplicate during the partition: %v", h[keyName(0)])
	}
	tc.Heal()
	converged(t, serfTimeout, cs, 5)
	merged := time.Now()
	settled(t, 5*time.Second, cs, kindCounter) // one process per key within 5 s of the merge
	t.Logf("settled %v after the views merged", time.Since(merged))
	waitFor(t, 2*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(conflicts) == keys
	}, "a conflict event per key: %v", lazy(func() string { mu.Lock(); defer mu.Unlock(); return fmt.Sprint(len(conflicts)) }))
	mu.Lock()
	defer mu.Unlock()
	for k, n := range conflicts {
		if n != 1 {
			t.Fatalf("%s: %d conflict events", k, n)
		}
	}
}

// TestSerfQuorumMinority: in quorum mode the minority side of a 2|3
// partition refuses routed requests; the majority serves; after the heal
// everyone serves again.
func TestSerfQuorumMinority(t *testing.T) {
	t.Parallel()
	tc := newTestCluster(t, true)
	cs := tc.startN(5, func(c *placement.Config) { c.Quorum = true })
	converged(t, serfTimeout, cs, 5)
	ctx := context.Background()
	if _, err := cs[0].Call(ctx, kindCounter, "k", nil); err != nil {
		t.Fatalf("with quorum: %v", err)
	}
	small, big := cs[:2], cs[2:]
	tc.Partition(small, big)
	converged(t, serfTimeout, small, 2)
	converged(t, serfTimeout, big, 3)
	for _, c := range small {
		waitFor(t, serfTimeout, func() bool {
			_, err := c.Call(ctx, kindCounter, "k", nil)
			return errors.Is(err, placement.ErrNoQuorum)
		}, "%s refuses without quorum", c.Name())
	}
	for _, c := range big {
		if _, err := c.Call(ctx, kindCounter, "k2", nil); err != nil {
			t.Fatalf("majority side %s: %v", c.Name(), err)
		}
	}
	tc.Heal()
	converged(t, serfTimeout, cs, 5)
	placementtest.CheckFor(t, serfTimeout, func() error {
		_, err := small[0].Call(ctx, kindCounter, "k", nil)
		return err // the minority serves again after the heal
	})
}

// TestSerfQuorumSize: with QuorumSize 3, two nodes refuse to serve until
// the third joins.
func TestSerfQuorumSize(t *testing.T) {
	t.Parallel()
	tc := newTestCluster(t, true)
	quorum := func(c *placement.Config) { c.Quorum, c.QuorumSize = true, 3 }
	cs := tc.startN(2, quorum)
	converged(t, serfTimeout, cs, 2)
	ctx := context.Background()
	for _, c := range cs {
		if _, err := c.Call(ctx, kindCounter, "k", nil); !errors.Is(err, placement.ErrNoQuorum) {
			t.Fatalf("%s with 2 of 3: %v", c.Name(), err)
		}
	}
	cs = append(cs, tc.start(quorum))
	converged(t, serfTimeout, cs, 3)
	for _, c := range cs {
		placementtest.CheckFor(t, serfTimeout, func() error {
			_, err := c.Call(ctx, kindCounter, "k", nil)
			return err
		})
	}
}

// TestDrainWaitsForFailedMembers: a node that drains while every other
// member is marked failed (a stall, a short partition) keeps its keys and
// waits instead of dropping them; once the others are back, the drain
// hands every key off with its state. (Under load a leaving node whose
// view briefly held only itself used to return from Drain at once and
// close with its keys.)
func TestDrainWaitsForFailedMembers(t *testing.T) {
	t.Parallel()
	tc := newTestCluster(t, true)
	cs := tc.startN(2, nil)
	converged(t, serfTimeout, cs, 2)
	a, b := cs[0], cs[1]
	born := createKeys(t, a, kindCounter, 100)
	tc.FaultNet().Isolate(b.Membership().GossipAddr())
	converged(t, serfTimeout, []*placement.Cluster{a}, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if err := a.Drain(ctx); !errors.Is(err, placement.ErrDrain) {
		t.Fatalf("drain with the only other member failed: %v, want ErrDrain after waiting", err)
	}
	if len(a.Hosted()) == 0 {
		t.Fatal("the keys were dropped")
	}
	tc.FaultNet().Heal()
	dctx, dcancel := context.WithTimeout(context.Background(), serfTimeout)
	defer dcancel()
	if err := a.Drain(dctx); err != nil {
		t.Fatalf("drain after the heal: %v", err)
	}
	for k, want := range born {
		st, err := getState(context.Background(), b, kindCounter, k)
		if err != nil || st.Born != want {
			t.Fatalf("%s after the drain: %+v %v, born %s", k, st, err, want)
		}
	}
}
