package placement

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/placerhq/placer/node"
)

// The tests in this file run real Serf (local profile) on 127.0.0.1
// through a FaultNet, with the node transport on memnet.

const serfTimeout = 15 * time.Second

func gossipAddrs(cs []*Cluster) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Membership().GossipAddr()
	}
	return out
}

func names(cs []*Cluster) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Name()
	}
	return out
}

// TestSerfJoinMovesOnlyNewShare: a fourth node joins three that host 400
// stateful keys; exactly the keys the ring gives the new node move, to it,
// with their state.
func TestSerfJoinMovesOnlyNewShare(t *testing.T) {
	t.Parallel()
	tc := newTestCluster(t, true)
	cs := tc.startN("sj", 3, nil)
	converged(t, serfTimeout, cs, 3)
	tc.logStatsOnFailure()
	const keys = 400
	born := createKeys(t, cs[0], kindCounter, keys)
	before := hostMap(cs, kindCounter)
	oldRing := cs[0].View().Ring()
	cs = append(cs, tc.start("sj4", nil))
	converged(t, serfTimeout, cs, 4)
	waitFor(t, serfTimeout, func() bool { return settled(cs, kindCounter) }, "settled after the join: %s", lazy(func() string { return unsettled(cs, kindCounter) }))
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
		var st counterState
		var err error
		var lost []counterState
		// The original state is on the owner, or (after a false failure)
		// was handed to the Conflict callback, which runs asynchronously.
		waitFor(t, 5*time.Second, func() bool {
			st, err = getState(context.Background(), cs[2], kindCounter, k)
			lost = tc.lostStates(k)
			return err == nil && (st.Born == born[k] || slices.ContainsFunc(lost, func(l counterState) bool { return l.Born == born[k] }))
		}, "%s: state lost: %v", k, lazy(func() string { return fmt.Sprintf("%+v %v (lost copies %+v)", st, err, lost) }))
	}
	checkConflictsExplained(t, tc)
	t.Logf("%d of %d keys moved (ideal %d)", moved, keys, keys/4)
}

// TestSerfLeaveUnderTraffic: a node hosting a share of 1,000 stateful keys
// leaves gracefully under continuous traffic: no state and no message is
// lost, and nothing arrives out of order.
func TestSerfLeaveUnderTraffic(t *testing.T) {
	t.Parallel()
	leaveUnderTraffic(t, newTestCluster(t, true), "sl")
}

// TestSerfLeaveUnderTrafficTCP is the same on the TCP transport, whose
// ordering (per sender, small frames) the handoff relies on too.
func TestSerfLeaveUnderTrafficTCP(t *testing.T) {
	t.Parallel()
	tc := newTestCluster(t, true)
	tc.tcp = true
	leaveUnderTraffic(t, tc, "st")
}

func leaveUnderTraffic(t *testing.T, tc *testCluster, prefix string) {
	cs := tc.startN(prefix, 4, nil)
	converged(t, serfTimeout, cs, 4)
	const keys = 1000
	born := createKeys(t, cs[0], kindCounter, keys)
	leaver, stay := cs[1], []*Cluster{cs[0], cs[2], cs[3]}
	hosted := len(leaver.Hosted())
	tc.logStatsOnFailure()
	tr := startTraffic(stay, kindCounter, keys, 6)
	tr.flowing(t, 100)
	start := time.Now()
	if err := leaver.Leave(context.Background()); err != nil {
		t.Fatalf("leave: %v", err)
	}
	took := time.Since(start)
	converged(t, serfTimeout, stay, 3)
	waitFor(t, serfTimeout, func() bool { return settled(stay, kindCounter) }, "settled after the leave: %s", lazy(func() string { return unsettled(stay, kindCounter) }))
	tr.flowing(t, 100) // traffic after the leave reaches the new owners too
	tr.halt()
	checkDelivered(t, tc, stay[0], kindCounter, keys, tr, born)
	var dropped uint64
	for _, c := range stay {
		dropped += c.Stats().Dropped
	}
	if dropped != 0 {
		t.Fatalf("%d sends dropped", dropped)
	}
	var buffered uint64
	for _, c := range cs {
		buffered += c.Stats().Buffered
	}
	t.Logf("left with %d keys in %v; %d messages sent, %d send errors (last %v), %d requests buffered",
		hosted, took, tr.total.Load(), tr.errs.Load(), tr.lastEr.Load(), buffered)
}

// TestSerfKillReowns: a node is cut off and stopped; once Serf marks it
// failed its keys are served again (restarted fresh on their new owners),
// and monitors of its processes got DOWN noconnection.
func TestSerfKillReowns(t *testing.T) {
	t.Parallel()
	tc := newTestCluster(t, true)
	cs := tc.startN("sk", 3, nil)
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
	tc.net.Partition([]string{victim.Name()}, names(survivors))
	tc.fn.Isolate(victim.Membership().GossipAddr())
	if err := victim.Close(); err != nil {
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
		waitFor(t, serfTimeout, func() bool {
			_, err := survivors[i%2].Call(ctx, kindCounter, keyName(i), []byte("inc"))
			return err == nil
		}, "%s served again", keyName(i))
	}
	t.Logf("every key served again %v after the kill", time.Since(killed))
	waitFor(t, serfTimeout, func() bool { return settled(survivors, kindCounter) }, "settled: %s",
		lazy(func() string { return unsettled(survivors, kindCounter) }))
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
	cs := tc.startN("sp", 5, func(c *Config) {
		c.Events = func(e Event) {
			if e.Type == EventConflict {
				mu.Lock()
				conflicts[e.Key]++
				mu.Unlock()
			}
		}
	})
	converged(t, serfTimeout, cs, 5)
	small, big := cs[:2], cs[2:]
	tc.fn.Partition(gossipAddrs(small), gossipAddrs(big))
	tc.net.Partition(names(small), names(big))
	converged(t, serfTimeout, small, 2)
	converged(t, serfTimeout, big, 3)
	const keys = 100
	createKeys(t, small[0], kindCounter, keys)
	createKeys(t, big[0], kindCounter, keys)
	if h := hostMap(cs, kindCounter); len(h[keyName(0)]) != 2 {
		t.Fatalf("no duplicate during the partition: %v", h[keyName(0)])
	}
	tc.net.Heal()
	tc.fn.Heal()
	converged(t, serfTimeout, cs, 5)
	merged := time.Now()
	waitFor(t, 5*time.Second, func() bool { return settled(cs, kindCounter) }, "one process per key within 5 s of the merge: %s", lazy(func() string { return unsettled(cs, kindCounter) }))
	t.Logf("settled %v after the views merged", time.Since(merged))
	waitFor(t, 2*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(conflicts) == keys
	}, "a conflict event per key")
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
	cs := tc.startN("sq", 5, func(c *Config) { c.Quorum = true })
	converged(t, serfTimeout, cs, 5)
	ctx := context.Background()
	if _, err := cs[0].Call(ctx, kindCounter, "k", nil); err != nil {
		t.Fatalf("with quorum: %v", err)
	}
	small, big := cs[:2], cs[2:]
	tc.fn.Partition(gossipAddrs(small), gossipAddrs(big))
	tc.net.Partition(names(small), names(big))
	converged(t, serfTimeout, small, 2)
	converged(t, serfTimeout, big, 3)
	for _, c := range small {
		waitFor(t, serfTimeout, func() bool {
			_, err := c.Call(ctx, kindCounter, "k", nil)
			return errors.Is(err, ErrNoQuorum)
		}, "%s refuses without quorum", c.Name())
	}
	for _, c := range big {
		if _, err := c.Call(ctx, kindCounter, "k2", nil); err != nil {
			t.Fatalf("majority side %s: %v", c.Name(), err)
		}
	}
	tc.net.Heal()
	tc.fn.Heal()
	converged(t, serfTimeout, cs, 5)
	waitFor(t, serfTimeout, func() bool {
		_, err := small[0].Call(ctx, kindCounter, "k", nil)
		return err == nil
	}, "minority serves again after the heal")
}

// TestSerfQuorumSize: with QuorumSize 3, two nodes refuse to serve until
// the third joins.
func TestSerfQuorumSize(t *testing.T) {
	t.Parallel()
	tc := newTestCluster(t, true)
	quorum := func(c *Config) { c.Quorum, c.QuorumSize = true, 3 }
	cs := tc.startN("sz", 2, quorum)
	converged(t, serfTimeout, cs, 2)
	ctx := context.Background()
	for _, c := range cs {
		if _, err := c.Call(ctx, kindCounter, "k", nil); !errors.Is(err, ErrNoQuorum) {
			t.Fatalf("%s with 2 of 3: %v", c.Name(), err)
		}
	}
	cs = append(cs, tc.start("sz3", quorum))
	converged(t, serfTimeout, cs, 3)
	for _, c := range cs {
		waitFor(t, serfTimeout, func() bool {
			_, err := c.Call(ctx, kindCounter, "k", nil)
			return err == nil
		}, "%s serves with 3 of 3", c.Name())
	}
}
