package bench

import (
	"math"
	"runtime"
	"testing"
	"time"
)

func TestGCStateInCycle(t *testing.T) {
	for _, c := range []struct {
		s    gcState
		want bool
	}{
		{gcState{cycles: 0, pauses: 0}, false},
		{gcState{cycles: 7, pauses: 14}, false},
		{gcState{cycles: 7, pauses: 15}, true}, // first pause of cycle 8 over
		{gcState{cycles: 7, pauses: 16}, true}, // cycle 8 ended, counter not yet read as 8
		{gcState{cycles: 8, pauses: 15}, true}, // impossible reading: counted as inside
	} {
		if got := c.s.inCycle(); got != c.want {
			t.Errorf("%+v.inCycle() = %v, want %v", c.s, got, c.want)
		}
	}
}

func TestGCOverlap(t *testing.T) {
	idle := gcState{cycles: 3, pauses: 6}
	for _, c := range []struct {
		a, b gcState
		want bool
	}{
		{idle, idle, false},
		{idle, gcState{cycles: 3, pauses: 7}, true},                          // a cycle started during the call
		{gcState{cycles: 3, pauses: 7}, gcState{cycles: 3, pauses: 7}, true}, // marking throughout
		{idle, gcState{cycles: 4, pauses: 8}, true},                          // a whole cycle during the call
	} {
		if got := gcOverlap(c.a, c.b); got != c.want {
			t.Errorf("gcOverlap(%+v, %+v) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}

func TestGCFreeP99(t *testing.T) {
	var rtts []time.Duration
	var inGC []bool
	for i := 1; i <= 200; i++ {
		rtts = append(rtts, time.Duration(i)*time.Microsecond)
		inGC = append(inGC, i > 150) // the 50 slowest overlapped GC
	}
	share, p99 := gcFreeP99(rtts, inGC)
	if share != 0.25 {
		t.Errorf("share = %v, want 0.25", share)
	}
	if want := transportPercentileUS(rtts[:150], 99); p99 != want || p99 > 150 {
		t.Errorf("GC-free p99 = %v µs, want %v (from the 150 GC-free calls)", p99, want)
	}
	if share, p99 := gcFreeP99(nil, nil); share != 0 || p99 != 0 {
		t.Errorf("no calls: %v, %v", share, p99)
	}
}

func TestHistQuantile(t *testing.T) {
	bounds := []float64{0, 1, 2, 4, math.Inf(1)}
	for _, c := range []struct {
		counts []uint64
		q      float64
		want   float64
	}{
		{[]uint64{0, 0, 0, 0}, 0.5, 0},
		{[]uint64{1, 1, 1, 1}, 0.5, 2},
		{[]uint64{1, 1, 1, 0}, 1, 4},
		{[]uint64{0, 0, 0, 3}, 1, 4}, // open-ended bucket: its lower bound
		{[]uint64{10, 0, 0, 0}, 0.01, 1},
	} {
		if got := histQuantile(bounds, c.counts, c.q); got != c.want {
			t.Errorf("histQuantile(%v, q=%v) = %v, want %v", c.counts, c.q, got, c.want)
		}
	}
}

// The probe sees a forced collection as one cycle with two pauses.
func TestGCProbeCountsACycle(t *testing.T) {
	g := newGCProbe()
	before := g.read()
	runtime.GC()
	after := g.read()
	if after.cycles < before.cycles+1 || after.pauses < before.pauses+2 {
		t.Errorf("runtime.GC: %+v -> %+v, want at least one more cycle and two more pauses", before, after)
	}
}
