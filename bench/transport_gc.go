package bench

import (
	"math"
	"runtime/metrics"
	"time"
)

// The garbage collector's share in call_rtt_p99_under_bulk_us. The flat-out
// bulk stream allocates each received 1 MiB payload afresh (the handler owns
// it), about a gigabyte per second, so the collector runs dozens of times a
// second; these figures let every run show how much of the tail it causes
// (docs/benchmarks.md, "placer bench transport").

// gcState is a reading of the runtime's collection counters.
type gcState struct {
	cycles uint64 // completed GC cycles
	pauses uint64 // GC stop-the-world pauses so far, two per completed cycle
}

// inCycle reports whether a cycle had started (its first pause was over) and
// not yet finished at the reading. The two counters are read one after the
// other, so a reading taken as a cycle ends can be one cycle apart; any
// reading that is not exactly two pauses per cycle counts as inside one.
func (s gcState) inCycle() bool { return s.pauses != 2*s.cycles }

// gcProbe reads gcState without allocating (about 0.25 µs a reading).
type gcProbe struct {
	samples []metrics.Sample
}

func newGCProbe() *gcProbe {
	return &gcProbe{samples: []metrics.Sample{
		{Name: "/gc/cycles/total:gc-cycles"},
		{Name: "/sched/pauses/total/gc:seconds"},
	}}
}

// read returns the current counters.
func (g *gcProbe) read() gcState {
	metrics.Read(g.samples)
	s := gcState{cycles: g.samples[0].Value.Uint64()}
	for _, n := range g.samples[1].Value.Float64Histogram().Counts {
		s.pauses += n
	}
	return s
}

// pauseHist returns a copy of the pause-latency histogram (bucket bounds in
// seconds and counts), for differences between two points in time.
func (g *gcProbe) pauseHist() (bounds []float64, counts []uint64) {
	metrics.Read(g.samples)
	h := g.samples[1].Value.Float64Histogram()
	return append([]float64(nil), h.Buckets...), append([]uint64(nil), h.Counts...)
}

// gcOverlap reports whether a call that began at state a and ended at state
// b overlapped a GC cycle: one was running when it began, or a pause or a
// cycle's end happened while it ran.
func gcOverlap(a, b gcState) bool { return a.inCycle() || a != b }

// gcFigures summarises the collector's activity over one measurement.
type gcFigures struct {
	cyclesPerS  float64
	pauseP50us  float64 // upper bound of the histogram bucket holding the median pause
	pauseMaxus  float64 // upper bound of the highest non-empty bucket
	callsInGC   float64 // fraction of the calls that overlapped a cycle
	p99GCFreeus float64 // p99 round trip of the other calls
}

// gcWindow measures gcFigures between start and finish.
type gcWindow struct {
	probe   *gcProbe
	t0      time.Time
	s0      gcState
	bounds  []float64
	counts0 []uint64
}

func startGCWindow(g *gcProbe) *gcWindow {
	w := &gcWindow{probe: g, t0: time.Now(), s0: g.read()}
	w.bounds, w.counts0 = g.pauseHist()
	return w
}

// finish computes the figures; rtts and inGC describe the calls measured
// in the window (inGC[i] from gcOverlap).
func (w *gcWindow) finish(rtts []time.Duration, inGC []bool) gcFigures {
	s1, elapsed := w.probe.read(), time.Since(w.t0)
	_, counts1 := w.probe.pauseHist()
	f := gcFigures{cyclesPerS: float64(s1.cycles-w.s0.cycles) / elapsed.Seconds()}
	delta := make([]uint64, min(len(counts1), len(w.counts0))) // the runtime's buckets are fixed
	for i := range delta {
		delta[i] = counts1[i] - w.counts0[i]
	}
	f.pauseP50us = histQuantile(w.bounds, delta, 0.5) * 1e6
	f.pauseMaxus = histQuantile(w.bounds, delta, 1) * 1e6
	f.callsInGC, f.p99GCFreeus = gcFreeP99(rtts, inGC)
	return f
}

// gcFreeP99 returns the fraction of the calls that overlapped a GC cycle
// (inGC[i] true) and the p99 round trip of the others, in µs (0 if none).
func gcFreeP99(rtts []time.Duration, inGC []bool) (share, p99us float64) {
	var free []time.Duration
	for i, d := range rtts {
		if i < len(inGC) && inGC[i] {
			continue
		}
		free = append(free, d)
	}
	if len(rtts) > 0 {
		share = 1 - float64(len(free))/float64(len(rtts))
	}
	return share, transportPercentileUS(free, 99)
}

// histQuantile returns the upper bound of the bucket holding the q-th
// quantile of a runtime/metrics histogram (bounds has one more entry than
// counts), or its lower bound when the bucket is open-ended; 0 if empty.
func histQuantile(bounds []float64, counts []uint64, q float64) float64 {
	var total uint64
	for _, c := range counts {
		total += c
	}
	if total == 0 {
		return 0
	}
	want := max(uint64(math.Ceil(q*float64(total))), 1)
	var acc uint64
	for i, c := range counts {
		acc += c
		if acc >= want {
			if up := bounds[i+1]; !math.IsInf(up, 1) {
				return up
			}
			return bounds[i]
		}
	}
	return bounds[len(bounds)-1]
}
