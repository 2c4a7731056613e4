package placement_test

import (
	"context"
	"fmt"
	"os"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/placerhq/placer/internal/leakcheck"
	"github.com/placerhq/placer/placement"
	"github.com/placerhq/placer/placement/placementtest"
)

// TestMain checks that no goroutine outlives the tests (leakcheck polls:
// Serf and memberlist end some of theirs after Shutdown).
func TestMain(m *testing.M) { os.Exit(leakcheck.Main(m, 10*time.Second)) }

// The multi-node tests run on placementtest: static views on memnet, or
// real Serf (local profile) on 127.0.0.1 through a FaultNet.

const (
	kindCounter = placementtest.KindCounter
	kindPlain   = placementtest.KindPlain
	serfTimeout = 15 * time.Second
)

type counterState = placementtest.CounterState

var testCookie = []byte("placement-test-cookie-0123456789abcdef")

func testLogger() zerolog.Logger {
	if os.Getenv("PLACEMENT_DEBUG") == "" {
		return zerolog.Nop()
	}
	return zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr}).With().Timestamp().Logger()
}

var clusterSeq atomic.Int64

// testCluster is a placementtest cluster whose nodes a test starts one by
// one (startN, start), each possibly configured differently.
type testCluster struct {
	t testing.TB
	*placementtest.Cluster
}

// newTestCluster returns an empty cluster: static views that the test sets
// (setView), or, with serf, real Serf. o may set more options.
func newTestCluster(t testing.TB, serf bool, o ...placementtest.Options) *testCluster {
	t.Helper()
	var opt placementtest.Options
	if len(o) > 0 {
		opt = o[0]
	}
	// Each cluster has its own random cookie (so its own gossip key): a
	// Serf node of one test that reaches a port another test's closed node
	// freed must not merge the two clusters.
	opt.Gossip, opt.ManualViews = serf, !serf
	if reflect.ValueOf(opt.Logger).IsZero() {
		opt.Logger = testLogger()
	}
	if opt.Prefix == "" { // distinct names across parallel tests, for the logs
		opt.Prefix = fmt.Sprintf("c%dn", clusterSeq.Add(1))
	}
	tc := &testCluster{t: t, Cluster: placementtest.New(t, opt)}
	tc.logStatsOnFailure()
	return tc
}

// start starts one more node, adjusted by adjust (may be nil).
func (tc *testCluster) start(adjust func(*placement.Config)) *placement.Cluster {
	tc.t.Helper()
	p, err := tc.AddWith(adjust)
	if err != nil {
		tc.t.Fatalf("start: %v", err)
	}
	return p
}

// startN starts n more nodes.
func (tc *testCluster) startN(n int, adjust func(*placement.Config)) []*placement.Cluster {
	tc.t.Helper()
	out := make([]*placement.Cluster, n)
	for i := range n {
		out[i] = tc.start(adjust)
	}
	return out
}

// logStatsOnFailure logs every node's counters at the end of a failed test.
func (tc *testCluster) logStatsOnFailure() {
	t := tc.t
	t.Cleanup(func() {
		if t.Failed() {
			for _, c := range tc.Nodes() {
				t.Logf("%s: %+v %+v", c.Name(), c.Stats(), c.Node().Stats())
			}
		}
	})
}

var setView = placementtest.SetView

func converged(t testing.TB, timeout time.Duration, cs []*placement.Cluster, want int) {
	t.Helper()
	placementtest.CheckFor(t, timeout, func() error { return placementtest.Converged(cs, want) })
}

func settled(t testing.TB, timeout time.Duration, cs []*placement.Cluster, kind string) {
	t.Helper()
	placementtest.CheckFor(t, timeout, func() error { return placementtest.Settled(cs, kind) })
}

// waitFor polls cond until it holds; the message is formatted (with lazy
// arguments evaluated) only when the wait fails.
func waitFor(t testing.TB, timeout time.Duration, cond func() bool, format string, args ...any) {
	t.Helper()
	placementtest.CheckFor(t, timeout, func() error {
		if cond() {
			return nil
		}
		return fmt.Errorf(format, args...)
	})
}

var (
	hostMap = placementtest.HostMap
	keyName = placementtest.KeyName
)

func getState(ctx context.Context, c *placement.Cluster, kind, key string) (counterState, error) {
	return placementtest.GetCounter(ctx, c, kind, key)
}

// createKeys starts keys 0..n-1 of kind through c and returns their Born.
func createKeys(t testing.TB, c *placement.Cluster, kind string, n int) map[string]string {
	t.Helper()
	born, err := placementtest.CreateKeys(context.Background(), []*placement.Cluster{c}, kind, placementtest.KeyNames(n))
	if err != nil {
		t.Fatal(err)
	}
	return born
}

// startTraffic sends to keys 0..n-1 of kind from senders goroutines over
// the nodes of from, every tenth request an "inc" call.
func startTraffic(t testing.TB, from []*placement.Cluster, kind string, n, senders int) *placementtest.Traffic {
	t.Helper()
	tr := placementtest.StartTraffic(from, kind, placementtest.KeyNames(n), placementtest.TrafficOptions{Senders: senders, CallEvery: 10})
	t.Cleanup(tr.Halt)
	if err := tr.Flowing(context.Background(), 100); err != nil {
		t.Fatal(err)
	}
	return tr
}

// checkDelivered: every message tr sent is accounted for (see
// placementtest.Cluster.CheckDelivered).
func (tc *testCluster) checkDelivered(via *placement.Cluster, kind string, tr *placementtest.Traffic, born map[string]string) {
	tc.t.Helper()
	tr.Halt()
	if err := tc.CheckDelivered(context.Background(), via, kind, tr, born, false); err != nil {
		tc.t.Fatal(err)
	}
	if n := tc.FalseFailures(); n > 0 {
		tc.t.Logf("%d false failure detections (members stalled on a loaded machine), %d conflicts; every message accounted for", n, tc.Conflicts())
	}
}

// lazy formats as f() when printed: for failure messages computed only
// when a wait times out.
type lazy func() string

func (l lazy) String() string { return l() }

// findKey returns a key for which want(key) holds.
func findKey(t *testing.T, want func(key string) bool) string {
	t.Helper()
	for i := range 100000 {
		if k := keyName(i); want(k) {
			return k
		}
	}
	t.Fatal("no such key")
	return ""
}
