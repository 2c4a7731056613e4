package placement_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/placement"
	"github.com/placerhq/placer/placement/membership"
	"github.com/placerhq/placer/placement/placementtest"
	"github.com/placerhq/placer/transport"
)

const kindBadExport = "bad-export"

// badExport is a kind whose ExportState always fails, so every push of it
// fails at once.
type badExport struct{ placementtest.Counter }

func (*badExport) ExportState(*node.Proc) ([]byte, error) { return nil, errors.New("cannot export") }

func (*badExport) ImportState(*node.Proc, []byte) error { return nil }

// A push that fails at once (here ExportState) must wait for the reconcile
// back-off (HandoffTimeout) before it is tried again, not be re-queued in a
// busy loop; the process keeps serving on its old owner meanwhile.
func TestFailedPushBacksOff(t *testing.T) {
	t.Parallel()
	tc := newTestCluster(t, false)
	cs := tc.startN(2, func(c *placement.Config) {
		c.Kinds[kindBadExport] = func() node.Behavior { return &badExport{} }
		c.HandoffTimeout = 2 * time.Second
	})
	setView(cs, cs[0])
	ctx := t.Context()
	key := ""
	setView(cs, cs...)
	for i := 0; key == ""; i++ { // a key the second node will own
		if cs[0].Owner(keyName(i)) == cs[1].Name() {
			key = keyName(i)
		}
	}
	setView(cs, cs[0])
	if _, err := cs[0].EnsureProcess(ctx, kindBadExport, key); err != nil {
		t.Fatal(err)
	}
	setView(cs, cs...)
	waitFor(t, 5*time.Second, func() bool { return cs[0].Stats().HandoffsFailed >= 1 }, "no failed push")
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		if n := cs[0].Stats().HandoffsFailed; n > 2 {
			t.Fatalf("%d failed pushes within about a second: retried without back-off", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := cs[0].Call(ctx, kindBadExport, key, []byte("inc")); err != nil {
		t.Fatalf("the key stopped serving while its push kept failing: %v", err)
	}
}

// Closing every node while a rebalance is in flight must return: a push
// that fails because the node is closing is not re-queued.
func TestCloseDuringRebalance(t *testing.T) {
	t.Parallel()
	tc := newTestCluster(t, false)
	cs := tc.startN(3, nil)
	setView(cs, cs[0], cs[1])
	createKeys(t, cs[0], kindCounter, 1000)
	setView(cs, cs...)
	var wg sync.WaitGroup
	done := make(chan struct{})
	for _, c := range cs {
		wg.Go(func() { _ = c.Close() })
	}
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("Close did not return during a rebalance")
	}
}

// A placement.Start that fails before membership starts still shuts down the gossip
// transport it was given (TestMain's leak check would see its goroutines).
func TestStartFailureShutsGossipTransport(t *testing.T) {
	t.Parallel()
	tr, err := membership.NewFaultNet(testLogger()).NewTransport("127.0.0.1", 0)
	if err != nil {
		t.Fatal(err)
	}
	cfg := placement.DefaultConfig()
	cfg.Name, cfg.Cookie = "sf1@127.0.0.1", testCookie
	cfg.Membership.Profile, cfg.Membership.Transport = membership.ProfileLocal, tr
	boom := errors.New("no transport today")
	cfg.Transport = func(node.TransportParams, transport.Handler) (transport.Transport, error) { return nil, boom }
	if _, err := placement.Start(cfg); !errors.Is(err, boom) {
		t.Fatalf("placement.Start = %v, want %v", err, boom)
	}
}
