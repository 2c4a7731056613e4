package placement

import (
	"math"
	"sync/atomic"
	"time"
)

// latencyBuckets is the number of call-latency buckets: bucket i counts
// calls that took less than latencyBound(i); the last one counts the rest.
const latencyBuckets = 48

// latencyBound is the upper bound of bucket i: 16 µs × √2^i (16 µs up to
// about 100 s).
func latencyBound(i int) time.Duration {
	return time.Duration(16e3 * math.Pow(math.Sqrt2, float64(i)))
}

// latency is a lock-free histogram of the keyed calls this node made
// (Call, EnsureProcess, Whereis), for the call p99 of the dashboard.
type latency struct {
	counts [latencyBuckets]atomic.Uint64
}

// observe records one call that took d.
func (l *latency) observe(d time.Duration) {
	i := 0
	for i < latencyBuckets-1 && d >= latencyBound(i) {
		i++
	}
	l.counts[i].Add(1)
}

// snapshot copies the counts.
func (l *latency) snapshot() [latencyBuckets]uint64 {
	var out [latencyBuckets]uint64
	for i := range out {
		out[i] = l.counts[i].Load()
	}
	return out
}

// quantile estimates the q quantile of the calls counted between two
// snapshots (the bound of the bucket it falls in), and their number.
func quantile(prev, cur [latencyBuckets]uint64, q float64) (time.Duration, uint64) {
	var total uint64
	for i := range cur {
		total += cur[i] - prev[i]
	}
	if total == 0 {
		return 0, 0
	}
	want := uint64(math.Ceil(q * float64(total)))
	var seen uint64
	for i := range cur {
		if seen += cur[i] - prev[i]; seen >= want {
			return latencyBound(i), total
		}
	}
	return latencyBound(latencyBuckets - 1), total
}
