package bench

import (
	"math"
	"math/bits"
	"runtime"
	"strconv"
	"time"

	"github.com/placerhq/placer/ring"

	"github.com/placerhq/placer/internal/chart"
)

// ringStepsPerSubject is the number of progress steps measure reports.
const ringStepsPerSubject = 6

// ringMeasure takes every figure of one RingResult.
func ringMeasure(s strategyUnderTest, n int, keys [][]byte, hashes []uint64, o RingOptions, p *ringProgress) (RingResult, error) {
	ms := ringMembers(n)
	res := RingResult{Strategy: s.name(), Nodes: n, VNodes: s.vnodesPerMember(), LoadFactor: s.loadFactor(), Keys: len(keys)}
	label := func(what string) string { return s.name() + " n=" + itoa(n) + " " + what }

	buildMs, err := timeMedian(o.Budget, func() error { _, err := s.build(ms); return err })
	if err != nil {
		return res, err
	}
	res.BuildMs = buildMs * 1e3
	p.step(label("build"))

	reps := retainedReps(n * res.VNodes)
	bytes, b, err := retainedBytes(reps, func() (builtStrategy, error) { return s.build(ms) })
	if err != nil {
		return res, err
	}
	res.BytesPerVnode = float64(bytes) / float64(reps*n*res.VNodes)
	p.step(label("memory"))

	res.LookupNs, res.AllocsPerLookup = ringTimeLookups(b, keys, o.Rounds)
	p.step(label("lookup"))

	joiner := ring.Member{Name: ringMemberName(n), Weight: 1}
	arSec, err := timeMedian(o.Budget, func() error { return b.addRemove(joiner) })
	if err != nil {
		return res, err
	}
	res.AddRemoveUs = arSec * 1e6
	p.step(label("add+remove"))

	owners := make([]string, len(hashes))
	for i, h := range hashes {
		owners[i] = b.ownerOf(h)
	}
	res.PeakToAvg, res.CV = ringBalance(ringCounts(ms, owners))
	res.EqualSplitPeak = ringEqualSplitPeak(n, hashes)
	if st := b.strategy(); st != nil && (st.Name() == "ring" || st.Name() == "bounded") {
		shares, err := ring.Shares(st)
		if err != nil {
			return res, err
		}
		res.SpacePeakToAvg = ringPeakOfShares(shares)
	}
	p.step(label("balance"))

	if err := ringChurn(&res, b, ms, joiner, hashes, owners); err != nil {
		return res, err
	}
	p.step(label("churn"))
	return res, nil
}

// ringChurn fills the join and leave figures: one member joins (leave: the
// middle member leaves) and every key's owner is compared.
func ringChurn(res *RingResult, b builtStrategy, ms []ring.Member, joiner ring.Member, hashes []uint64, owners []string) error {
	k, n := float64(len(hashes)), float64(len(ms))
	owner, undo, err := b.variant(ring.AddChange(joiner))
	if err != nil {
		return err
	}
	moved, toOld := 0, 0
	for i, h := range hashes {
		if o := owner(h); o != owners[i] {
			moved++
			if o != joiner.Name {
				toOld++
			}
		}
	}
	if err := undo(); err != nil {
		return err
	}
	res.JoinMovedRatio = float64(moved) / (k / (n + 1))
	res.JoinMovedBetweenOldRatio = float64(toOld) / (k / (n + 1))

	leaver := ms[len(ms)/2].Name
	owner, undo, err = b.variant(ring.RemoveChange(leaver))
	if err != nil {
		return err
	}
	moved, extra := 0, 0
	for i, h := range hashes {
		if owner(h) != owners[i] {
			moved++
			if owners[i] != leaver {
				extra++
			}
		}
	}
	res.LeaveMovedRatio = float64(moved) / (k / n)
	res.LeaveMovedExtra = extra
	return undo()
}

// ringBalance returns peak/mean and the coefficient of variation (population
// standard deviation / mean) of per-member counts.
func ringBalance(c []int) (peak, cv float64) {
	if len(c) == 0 {
		return 0, 0
	}
	sum, top := 0.0, 0
	for _, x := range c {
		sum += float64(x)
		top = max(top, x)
	}
	mean := sum / float64(len(c))
	if mean == 0 {
		return 0, 0
	}
	ss := 0.0
	for _, x := range c {
		d := float64(x) - mean
		ss += d * d
	}
	return float64(top) / mean, math.Sqrt(ss/float64(len(c))) / mean
}

// ringEqualSplitPeak returns peak/mean of the keys per range when the hash
// space is cut into n exactly equal ranges: what key sampling alone gives
// the best balanced placement (no strategy that ignores the keys beats it
// but by luck).
func ringEqualSplitPeak(n int, hashes []uint64) float64 {
	c := make([]int, n)
	for _, h := range hashes {
		r, _ := bits.Mul64(h, uint64(n))
		c[r]++
	}
	peak, _ := ringBalance(c)
	return peak
}

func ringPeakOfShares(shares map[string]float64) float64 {
	top := 0.0
	for _, s := range shares {
		top = max(top, s)
	}
	return top * float64(len(shares))
}

// timeMedian runs fn once, then again while the budget lasts (at most
// 101 times), and returns the median duration in seconds.
func timeMedian(budget time.Duration, fn func() error) (float64, error) {
	runtime.GC()
	var ds []float64
	start := time.Now()
	for len(ds) == 0 || (time.Since(start) < budget && len(ds) < 101) {
		t := time.Now()
		if err := fn(); err != nil {
			return 0, err
		}
		ds = append(ds, time.Since(t).Seconds())
	}
	return chart.Median(ds), nil
}

// retainedBytes builds reps instances, keeps them all, and returns the
// heap bytes they keep alive together, and the first.
func retainedBytes(reps int, build func() (builtStrategy, error)) (uint64, builtStrategy, error) {
	var before, after runtime.MemStats
	kept := make([]builtStrategy, reps) // before the first reading: not counted
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range kept {
		b, err := build()
		if err != nil {
			return 0, nil, err
		}
		kept[i] = b
	}
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(kept)
	if after.HeapAlloc < before.HeapAlloc {
		return 0, kept[0], nil
	}
	return after.HeapAlloc - before.HeapAlloc, kept[0], nil
}

// retainedReps is how many copies of a strategy with vnodes points
// retainedBytes keeps: enough that a small one's size stands above the
// heap's background noise (the runtime's own allocations and frees between
// the two readings), one for the sizes the benchmark reports.
func retainedReps(vnodes int) int { return max(1, min(64, 16384/max(vnodes, 1))) }

// ringTimeLookups returns the median ns per lookup over rounds passes over the
// keys, and the heap allocations per lookup: the least over the passes. The
// allocation counter is the process's, so another goroutine's allocations
// during a pass (a previous test's goroutines winding down, the runtime's
// own) add to it; a strategy that allocates per lookup does so in every
// pass.
func ringTimeLookups(b builtStrategy, keys [][]byte, rounds int) (ns, allocs float64) {
	runtime.GC()
	var before, after runtime.MemStats
	per := make([]float64, rounds)
	allocs = math.Inf(1)
	sink := 0
	for r := range per {
		runtime.ReadMemStats(&before)
		t := time.Now()
		sink += b.lookups(keys)
		per[r] = float64(time.Since(t).Nanoseconds()) / float64(len(keys))
		runtime.ReadMemStats(&after)
		allocs = min(allocs, float64(after.Mallocs-before.Mallocs)/float64(len(keys)))
	}
	if sink < 0 {
		panic("unreachable: sink keeps the lookups alive")
	}
	return chart.Median(per), allocs
}

func itoa(n int) string { return strconv.Itoa(n) }
