package placement_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/placerhq/placer/placement"
	"github.com/placerhq/placer/placement/placementtest"
)

// TestWatchHandoffsAndRingReports: Cluster.Watch streams each handoff as
// it starts and finishes; RingInfo's arcs cover the circle with each
// member's share; WhatIf of removing one of three equal members moves
// about a third of the keys, all from it, and changes nothing; Samples
// has this node's figures.
func TestWatchHandoffsAndRingReports(t *testing.T) {
	tc := newTestCluster(t, false, placementtest.Options{ManualViews: true})
	a, b, c := tc.start(nil), tc.start(nil), tc.start(nil)
	setView([]*placement.Cluster{a}, a)
	createKeys(t, a, placementtest.KindCounter, 30)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events, err := a.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	setView([]*placement.Cluster{a, b, c}, a, b, c)
	seen := map[string]int{}
	deadline := time.After(10 * time.Second)
	for seen[placement.WatchHandoffFinished] == 0 || seen[placement.WatchHandoffStarted] == 0 {
		select {
		case ev := <-events:
			seen[ev.Type]++
		case <-deadline:
			t.Fatalf("events seen: %v", seen)
		}
	}
	ri, err := a.RingInfo()
	if err != nil || len(ri.Members) != 3 || len(ri.Arcs) < 3 || ri.Arcs[0].Start != 0 || ri.Arcs[len(ri.Arcs)-1].End != 1 {
		t.Fatalf("ring info: %d members, %d arcs, %v", len(ri.Members), len(ri.Arcs), err)
	}
	before := a.View().Checksum
	w, err := a.WhatIf(placement.WhatIfChange{Op: placement.WhatIfRemove, Member: b.Name()})
	if err != nil || math.Abs(w.MovedShare-1.0/3) > 0.1/3 || len(w.Flows) != 2 || w.Flows[0].From != b.Name() || len(w.Arcs) == 0 {
		t.Fatalf("what-if remove: share %.3f, flows %+v, %v", w.MovedShare, w.Flows, err)
	}
	if a.View().Checksum != before {
		t.Fatal("a what-if changed the view")
	}
	if _, err := a.WhatIf(placement.WhatIfChange{Op: "explode", Member: b.Name()}); err == nil {
		t.Fatal("a bad what-if op is accepted")
	}
	add, err := a.WhatIf(placement.WhatIfChange{Op: placement.WhatIfAdd, Member: "new@h", Weight: 1})
	if err != nil || math.Abs(add.MovedShare-0.25) > 0.025 {
		t.Fatalf("what-if add: %.3f %v", add.MovedShare, err)
	}
	if s := a.Samples(); s.Node != a.Name() || len(s.Samples) == 0 {
		t.Fatalf("samples %+v", s)
	}
	cancel()
	for range events { // closed once ctx ended
	}
}
