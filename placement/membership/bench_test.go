package membership

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// The cluster benchmarks measure wall-clock timings of real Serf clusters
// on loopback with the local profile and report them as custom metrics
// (ms, mean and max over b.N rounds). Run them with a fixed count, e.g.
//
//	go test -run '^$' -bench 'Cluster' -benchtime 10x ./placement/membership/
//
// ns/op includes cluster setup and teardown and is not the figure of
// interest.

type durations []time.Duration

func (d durations) report(b *testing.B, name string) {
	if len(d) == 0 {
		return
	}
	var sum time.Duration
	for _, x := range d {
		sum += x
	}
	ms := func(x time.Duration) float64 { return float64(x) / float64(time.Millisecond) }
	b.ReportMetric(ms(sum/time.Duration(len(d))), name+"-mean-ms")
	b.ReportMetric(ms(slices.Max(d)), name+"-max-ms")
}

// BenchmarkClusterKillDetect: time from Shutdown (no leave) of one node of
// a 5-node cluster until every survivor lists it as failed.
func BenchmarkClusterKillDetect(b *testing.B) {
	var d durations
	for range b.N {
		c := newCluster(b, false)
		ms := c.startN("k", 5)
		allSeeAlive(b, convergeTimeout, ms, 5)
		victim := ms[4]
		start := time.Now()
		_ = victim.Shutdown()
		for _, m := range ms[:4] {
			waitFor(b, 20*time.Second, func() bool { return statusOf(m, victim.Name()) == StatusFailed }, "detect")
		}
		d = append(d, time.Since(start))
		shutdownAll(ms)
	}
	d.report(b, "detect")
}

// BenchmarkClusterPartitionHeal: a 5-node cluster is cut 2|3; measures the
// time until both sides see the cut (partition), and, after a further
// pause of holdFor, the time from Heal until all five list five alive.
func BenchmarkClusterPartitionHeal(b *testing.B) {
	for _, hold := range []time.Duration{0, 6 * time.Second} {
		b.Run(fmt.Sprintf("hold=%v", hold), func(b *testing.B) {
			var split, heal durations
			for range b.N {
				s, h := partitionRound(b, hold)
				split, heal = append(split, s), append(heal, h)
			}
			split.report(b, "split")
			heal.report(b, "heal")
		})
	}
}

func partitionRound(b *testing.B, hold time.Duration) (split, heal time.Duration) {
	c := newCluster(b, true)
	ms := c.startN("p", 5)
	defer shutdownAll(ms)
	allSeeAlive(b, convergeTimeout, ms, 5)
	start := time.Now()
	c.fn.Partition(gossipAddrs(ms[:2]), gossipAddrs(ms[2:]))
	allSeeAlive(b, 20*time.Second, ms[:2], 2)
	allSeeAlive(b, 20*time.Second, ms[2:], 3)
	split = time.Since(start)
	time.Sleep(hold) // a benchmark parameter: how long the partition lasts
	start = time.Now()
	c.fn.Heal()
	allSeeAlive(b, 60*time.Second, ms, 5)
	return split, time.Since(start)
}

// BenchmarkClusterJoin: time from Start of a sixth node until all six list
// six alive.
func BenchmarkClusterJoin(b *testing.B) {
	var d durations
	for range b.N {
		c := newCluster(b, false)
		ms := c.startN("j", 5)
		allSeeAlive(b, convergeTimeout, ms, 5)
		start := time.Now()
		ms = append(ms, c.start(c.config("j5@127.0.0.1")))
		allSeeAlive(b, convergeTimeout, ms, 6)
		d = append(d, time.Since(start))
		shutdownAll(ms)
	}
	d.report(b, "join")
}

// BenchmarkClusterLeave: time for Leave of one node of five to return, and
// until every other node lists it as left.
func BenchmarkClusterLeave(b *testing.B) {
	var call, seen durations
	for range b.N {
		c := newCluster(b, false)
		ms := c.startN("l", 5)
		allSeeAlive(b, convergeTimeout, ms, 5)
		start := time.Now()
		if err := ms[4].Leave(b.Context()); err != nil {
			b.Fatal(err)
		}
		call = append(call, time.Since(start))
		for _, m := range ms[:4] {
			waitFor(b, convergeTimeout, func() bool { return statusOf(m, ms[4].Name()) == StatusLeft }, "left")
		}
		seen = append(seen, time.Since(start))
		shutdownAll(ms)
	}
	call.report(b, "leave-call")
	seen.report(b, "leave-seen")
}

func shutdownAll(ms []*Membership) {
	for _, m := range ms {
		_ = m.Shutdown()
	}
}

// BenchmarkTrackerReconcile: the pure per-publish work for n members when
// one member changed.
func BenchmarkTrackerReconcile(b *testing.B) {
	for _, n := range []int{8, 64, 512} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			a, c := make([]Member, n), make([]Member, n)
			for i := range n {
				a[i] = mem(fmt.Sprintf("m%04d@h", i), StatusAlive)
				c[i] = a[i]
			}
			c[n/2] = mem(c[n/2].Name, StatusFailed)
			tr, q := newTracker(), newQuorumTracker()
			b.ReportAllocs()
			for i := range b.N {
				cur := a
				if i%2 == 1 {
					cur = c
				}
				_ = tr.reconcile(cur)
				_ = q.update(cur)
			}
		})
	}
}
