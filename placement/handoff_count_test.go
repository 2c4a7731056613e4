package placement_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/placerhq/placer/placement"
	"github.com/placerhq/placer/placement/placementtest"
)

// TestAbortedHandoffsCounted: a push whose new owner goes away before
// taking the key (a node that joined, then failed: the key is owned here
// again) was counted as started but never as finished or failed, so
// /api/stats showed handoffs in limbo for ever. It counts as failed.
func TestAbortedHandoffsCounted(t *testing.T) {
	tc := newTestCluster(t, false, placementtest.Options{ManualViews: true})
	a, b := tc.start(nil), tc.start(nil)
	setView([]*placement.Cluster{a}, a)
	createKeys(t, a, placementtest.KindCounter, 40)
	setView([]*placement.Cluster{b}, a) // b believes a owns everything: it answers "not yet"
	setView([]*placement.Cluster{a}, a, b)
	waitFor(t, 10*time.Second, func() bool { return a.Stats().HandoffsStarted > 0 }, "no push started")
	setView([]*placement.Cluster{a}, a) // b is gone again: every key is a's
	waitFor(t, 10*time.Second, func() bool {
		s := a.Stats()
		return s.HandoffsInFlight == 0 && s.HandoffsQueued == 0 && s.HandoffsStarted == s.HandoffsFinished+s.HandoffsFailed
	}, "handoffs in limbo: %v", lazy(func() string { s := a.Stats(); return fmtStats(s) }))
}

func fmtStats(s placement.Stats) string {
	return fmt.Sprintf("started %d, finished %d, failed %d, in flight %d, queued %d",
		s.HandoffsStarted, s.HandoffsFinished, s.HandoffsFailed, s.HandoffsInFlight, s.HandoffsQueued)
}
