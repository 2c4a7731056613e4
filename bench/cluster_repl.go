package bench

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
	"slices"
	"time"

	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/placement"
	"github.com/placerhq/placer/placement/placementtest"
)

// The replication phases that run in-process: the latency of a
// replicated call beside an unreplicated one, and the memory of a live
// key beside a passivated one.

// clusterReplKind is the harness counter with R = 2, clusterAsyncKind the
// same replicated asynchronously.
const (
	clusterReplKind  = "counter.r2"
	clusterAsyncKind = "counter.r2async"
)

// replLatencyCalls is how many calls of each kind the latency phase
// times.
const replLatencyCalls = 4000

// clusterReplLatency: on a 3-node cluster (TCP on 127.0.0.1), one caller
// alternates a write Call ("inc") to an R = 1 key and to the same key of
// an R = 2 kind, sync and async, over keys another node owns (the common case: with N
// nodes a key is remote with probability (N−1)/N).
func clusterReplLatency(ctx context.Context, cfg ClusterConfig, res *ClusterResult) error {
	b, err := placementtest.Start(ctx, placementtest.Options{
		Nodes: 3, TCP: true, Prefix: "lat",
		Kinds: map[string]node.KindFactory{
			clusterReplKind:  func() node.Behavior { return &placementtest.ExportingCounter{} },
			clusterAsyncKind: func() node.Behavior { return &placementtest.ExportingCounter{} },
		},
		Configure: func(_ int, c *placement.Config) {
			c.KindSpecs = map[string]placement.KindSpec{clusterReplKind: {Replicas: 2}, clusterAsyncKind: {Replicas: 2, Async: true}}
		},
	})
	if err != nil {
		return err
	}
	defer b.Close()
	caller := b.Node(0)
	var keys []string
	for _, k := range placementtest.KeyNames(1000) {
		if caller.View().Owner(k) != caller.Name() && len(keys) < 200 {
			keys = append(keys, k)
		}
	}
	call := func(kind, key string) (time.Duration, error) {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		start := time.Now()
		_, err := caller.Call(cctx, kind, key, []byte("inc"))
		return time.Since(start), err
	}
	for _, k := range keys { // create every process and its backup first
		for _, kind := range []string{clusterKind, clusterReplKind, clusterAsyncKind} {
			if _, err := call(kind, k); err != nil {
				return err
			}
		}
	}
	cfg.progress(fmt.Sprintf("repl latency: %d write calls each to R = 1 and R = 2 keys", replLatencyCalls))
	kinds := []string{clusterKind, clusterReplKind, clusterAsyncKind}
	times := make([][]time.Duration, len(kinds))
	for i := range replLatencyCalls {
		k := keys[i%len(keys)]
		for j, kind := range kinds {
			d, err := call(kind, k)
			if err != nil {
				return err
			}
			times[j] = append(times[j], d)
		}
	}
	res.CallP50US, res.CallP99US = quantileUS(times[0], 0.50), quantileUS(times[0], 0.99)
	res.ReplCallP50US, res.ReplCallP99US = quantileUS(times[1], 0.50), quantileUS(times[1], 0.99)
	res.ReplAsyncCallP50US = quantileUS(times[2], 0.50)
	return nil
}

// quantileUS returns the q-quantile of ds in microseconds (sorts ds).
func quantileUS(ds []time.Duration, q float64) float64 {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return float64(ds[min(len(ds)-1, int(q*float64(len(ds))))].Nanoseconds()) / 1000
}

// clusterMemory: the memory of Keys keys on one node, live (a process
// each) and then passivated (the exported state kept in the entry), each
// on a fresh node: heap and goroutine stacks after a full collection,
// minus the same before the keys were created, per key.
func clusterMemory(ctx context.Context, cfg ClusterConfig, res *ClusterResult) error {
	keys := placementtest.KeyNames(cfg.Keys)
	for _, passive := range []bool{false, true} {
		b, err := placementtest.Start(ctx, placementtest.Options{
			Nodes: 1, Prefix: "mem",
			Configure: func(_ int, c *placement.Config) {
				if passive {
					c.KindSpecs = map[string]placement.KindSpec{clusterKind: {IdleTimeout: 100 * time.Millisecond}}
					c.ReconcileInterval = 50 * time.Millisecond
				}
			},
		})
		if err != nil {
			return err
		}
		quiesce(ctx)
		before := memInUse()
		_, err = placementtest.CreateKeys(ctx, b.Nodes(), clusterKind, keys)
		if err == nil && passive {
			cfg.progress(fmt.Sprintf("memory: waiting for %d keys to passivate", len(keys)))
			n := b.Node(0)
			err = clusterWait(ctx, clusterSettleTimeout, "every key passivated", func() bool { return n.Stats().Passive == len(keys) })
		}
		after := memInUse()
		if err == nil {
			perKey := float64(int64(after)-int64(before)) / float64(len(keys))
			if passive {
				res.PassivatedBytesPerKey, res.PassiveStateBytes = perKey, b.Node(0).Stats().PassiveBytes/len(keys)
			} else {
				res.LiveBytesPerKey = perKey
			}
		}
		if cerr := b.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// quiesce waits (up to 5 s) until the goroutine count has stayed the same
// for 200 ms: what a closed cluster left shutting down has ended.
func quiesce(ctx context.Context) {
	last, same := runtime.NumGoroutine(), 0
	for deadline := time.Now().Add(5 * time.Second); same < 4 && time.Now().Before(deadline) && ctx.Err() == nil; {
		time.Sleep(50 * time.Millisecond)
		if n := runtime.NumGoroutine(); n == last {
			same++
		} else {
			last, same = n, 0
		}
	}
}

// memInUse returns the live heap plus goroutine stacks after a full
// collection (which also frees the stacks of ended goroutines).
func memInUse() uint64 {
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc + ms.StackInuse
}
