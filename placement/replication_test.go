package placement_test

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/placerhq/placer/placement"
	"github.com/placerhq/placer/placement/placementtest"
)

// replicas gives the counter kind R copies.
func replicas(r int) func(*placement.Config) {
	return func(c *placement.Config) {
		c.KindSpecs = map[string]placement.KindSpec{kindCounter: {Replicas: r}}
	}
}

// incAll calls "inc" n times on every key through c (each acknowledged).
func incAll(t *testing.T, c *placement.Cluster, keys, n int) {
	t.Helper()
	ctx := context.Background()
	for i := range keys {
		for range n {
			if _, err := c.Call(ctx, kindCounter, keyName(i), []byte("inc")); err != nil {
				t.Fatalf("inc %s: %v", keyName(i), err)
			}
		}
	}
}

// checkCounts reads every key through c and wants want acknowledged incs
// and the original state (born).
func checkCounts(t *testing.T, c *placement.Cluster, born map[string]string, want int64) {
	t.Helper()
	for k, b := range born {
		placementtest.CheckFor(t, 10*time.Second, func() error {
			st, err := getState(context.Background(), c, kindCounter, k)
			switch {
			case err != nil:
				return err
			case st.Count != want || st.Born != b:
				return fmt.Errorf("%s: count %d born %s, want %d acknowledged incs on the state born %s", k, st.Count, st.Born, want, b)
			}
			return nil
		})
	}
}

// TestReplicasSurviveCrash: with R = 2 every acknowledged write survives
// the crash of the owner of a third of the keys: its backups promote.
func TestReplicasSurviveCrash(t *testing.T) {
	t.Parallel()
	tc := newTestCluster(t, false)
	cs := tc.startN(3, replicas(2))
	setView(cs, cs...)
	born := createKeys(t, cs[0], kindCounter, 150)
	incAll(t, cs[1], 150, 3)
	victim := cs[2]
	hosted := len(victim.Hosted())
	if hosted == 0 || len(victim.Backups()) == 0 {
		t.Fatalf("victim hosts %d keys and %d backups", hosted, len(victim.Backups()))
	}
	if err := tc.Crash(victim); err != nil {
		t.Fatal(err)
	}
	setView(cs[:2], cs[:2]...)
	checkCounts(t, cs[0], born, 3)
	var promoted uint64
	for _, c := range cs[:2] {
		promoted += c.Stats().ReplPromotions
	}
	if promoted != uint64(hosted) {
		t.Fatalf("%d promotions, the crashed node hosted %d keys", promoted, hosted)
	}
	var resent uint64
	for _, c := range cs[:2] {
		resent += c.Stats().ReplCopiesSent
	}
	if resent < uint64(hosted) { // at least every promoted key re-replicated
		t.Fatalf("%d copies re-replicated for %d promoted keys", resent, hosted)
	}
	// R copies again: every key has a backup on the other survivor.
	placementtest.CheckFor(t, 10*time.Second, func() error {
		n := len(cs[0].Backups()) + len(cs[1].Backups())
		if n != 150 {
			return fmt.Errorf("%d backup copies for 150 keys", n)
		}
		return nil
	})
}

// TestReplicationWaitsForBackups: a call is answered only once its effect
// is on the backup: the backup's copy has every acknowledged inc.
func TestReplicationWaitsForBackups(t *testing.T) {
	t.Parallel()
	tc := newTestCluster(t, false)
	cs := tc.startN(2, replicas(2))
	setView(cs, cs...)
	ctx := context.Background()
	key := findKey(t, func(k string) bool { return cs[0].Owner(k) == cs[0].Name() })
	for i := 1; i <= 20; i++ {
		out, err := cs[1].Call(ctx, kindCounter, key, []byte("inc"))
		if err != nil || string(out) != strconv.Itoa(i) {
			t.Fatalf("inc %d: %q %v", i, out, err)
		}
		bs := cs[1].Backups()
		if len(bs) != 1 || bs[0].Key != key || bs[0].Seq < uint64(i) {
			t.Fatalf("after inc %d the backup holds %+v", i, bs)
		}
	}
}

// TestPausedOwnerSuperseded: a node thought dead (the others' views drop
// it; it keeps its own, as a paused process does) is superseded: its keys
// are promoted on their backups and written there; its stale copies can
// acknowledge nothing (their backups hold the newer term); when the views
// take it back, the newer copies move to it and replace its stale ones.
// No acknowledged write is lost.
func TestPausedOwnerSuperseded(t *testing.T) {
	t.Parallel()
	tc := newTestCluster(t, false)
	cs := tc.startN(3, replicas(2))
	setView(cs, cs...)
	a, others := cs[0], cs[1:]
	const keys = 90
	born := createKeys(t, cs[1], kindCounter, keys)
	incAll(t, cs[1], keys, 2)
	setView(others, others...) // a is "dead" to the others; a's own view is unchanged
	incAll(t, cs[1], keys, 2)
	ctx := context.Background()
	for i := range keys { // through a: its own keys' stale copies must refuse
		k := keyName(i)
		if a.Owner(k) != a.Name() {
			continue
		}
		if _, err := a.Call(ctx, kindCounter, k, []byte("inc")); err == nil {
			t.Fatalf("%s: the stale copy on the paused owner acknowledged a write", k)
		}
	}
	setView(cs, cs...) // the pause ends
	settled(t, 10*time.Second, cs, kindCounter)
	// A call through a may have applied its inc on a's stale copy before
	// it was refused; that copy lost. Every acknowledged inc is there.
	checkCounts(t, cs[2], born, 4)
	var stale uint64
	for _, c := range cs {
		stale += c.Stats().ReplStale
	}
	if stale == 0 {
		t.Fatal("no copy was superseded")
	}
}

// TestReplicatedCrashUnderTraffic: real Serf; calls flow to 300 keys of a
// replicated (R = 2) counter while a node crashes. Every acknowledged call
// is in its key's state afterwards (a call that failed may or may not
// have counted), and every key is served again.
func TestReplicatedCrashUnderTraffic(t *testing.T) {
	t.Parallel()
	tc := newTestCluster(t, true)
	cs := tc.startN(4, replicas(2))
	converged(t, serfTimeout, cs, 4)
	const keys = 300
	born := createKeys(t, cs[0], kindCounter, keys)
	victim, survivors := cs[3], cs[:3]
	tr := placementtest.StartTraffic(survivors, kindCounter, placementtest.KeyNames(keys), placementtest.TrafficOptions{Senders: 6, CallEvery: 1})
	defer tr.Halt()
	if err := tr.Flowing(context.Background(), 300); err != nil {
		t.Fatal(err)
	}
	if err := tc.Crash(victim); err != nil {
		t.Fatal(err)
	}
	converged(t, serfTimeout, survivors, 3)
	if err := tr.Flowing(context.Background(), 300); err != nil { // served again
		t.Fatal(err)
	}
	tr.Halt()
	ctx := context.Background()
	for i := range keys {
		k := keyName(i)
		st, err := getState(ctx, survivors[i%3], kindCounter, k)
		if err != nil || st.Count < tr.SentTo(i) || st.Born != born[k] {
			t.Fatalf("%s: %+v %v; %d incs acknowledged, born %s", k, st, err, tr.SentTo(i), born[k])
		}
	}
	t.Logf("%d acknowledged calls, %d failed (during failure detection)", tr.Total(), tr.Errors())
}

// TestAsyncReplication: in async mode a call is answered before its
// backup has it, but the backup trails by at most MaxLag updates and
// catches up once writes stop; after that a crash of the owner loses
// nothing.
func TestAsyncReplication(t *testing.T) {
	t.Parallel()
	tc := newTestCluster(t, false)
	const maxLag = 4
	cs := tc.startN(2, func(c *placement.Config) {
		c.KindSpecs = map[string]placement.KindSpec{kindCounter: {Replicas: 2, Async: true, MaxLag: maxLag}}
	})
	setView(cs, cs...)
	ctx := context.Background()
	owner, other := cs[0], cs[1]
	key := findKey(t, func(k string) bool { return owner.Owner(k) == owner.Name() })
	const writes = 500
	var lagMax int64
	for i := 1; i <= writes; i++ {
		if out, err := other.Call(ctx, kindCounter, key, []byte("inc")); err != nil || string(out) != strconv.Itoa(i) {
			t.Fatalf("inc %d: %q %v", i, out, err)
		}
		lagMax = max(lagMax, owner.Stats().ReplInflight)
	}
	// Sends do not wait for anything: the process replicates as fast as
	// the lag bound lets it.
	const sends = 3000
	stop, sampled := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			select {
			case <-stop:
				return
			default:
				lagMax = max(lagMax, owner.Stats().ReplInflight)
				runtime.Gosched()
			}
		}
	}()
	for range sends {
		if err := other.Send(ctx, kindCounter, key, []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	placementtest.CheckFor(t, 10*time.Second, func() error {
		bs := other.Backups()
		if len(bs) != 1 || bs[0].Seq < writes+sends {
			return fmt.Errorf("backup %+v, want seq %d", bs, writes+sends)
		}
		if n := owner.Stats().ReplInflight; n != 0 {
			return fmt.Errorf("%d updates still in flight", n)
		}
		return nil
	})
	close(stop)
	<-sampled
	if lagMax > maxLag {
		t.Fatalf("%d updates in flight at once, MaxLag %d", lagMax, maxLag)
	}
	if err := tc.Crash(owner); err != nil {
		t.Fatal(err)
	}
	setView(cs[1:], cs[1:]...)
	placementtest.CheckFor(t, 10*time.Second, func() error {
		st, err := getState(ctx, other, kindCounter, key)
		if err == nil && st.Count != writes+sends {
			err = fmt.Errorf("count %d after the crash, want %d", st.Count, writes+sends)
		}
		return err
	})
	t.Logf("at most %d updates in flight (MaxLag %d)", lagMax, maxLag)
}
