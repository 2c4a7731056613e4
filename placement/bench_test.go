package placement_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/placement"
	"github.com/placerhq/placer/placement/placementtest"
)

// nopKind answers every call with nothing: the benchmarks below time
// placement, not a handler.
type nopKind struct{ node.Base }

func (nopKind) HandleCall(*node.Proc, node.PID, []byte) ([]byte, error) { return nil, nil }

func benchCluster(b *testing.B) *placementtest.Cluster {
	return placementtest.New(b, placementtest.Options{Nodes: 1,
		Kinds: map[string]node.KindFactory{"nop": func() node.Behavior { return nopKind{} }},
		Configure: func(_ int, cfg *placement.Config) {
			cfg.PullWindow = time.Millisecond // the steady state: no previous owners to ask
		}})
}

// BenchmarkCallHosted: a keyed call to a key whose process runs, on its
// own node (no network): placement's routing and the process's call.
func BenchmarkCallHosted(b *testing.B) {
	c := benchCluster(b).Node(0)
	ctx := context.Background()
	if _, err := c.Call(ctx, "nop", "k", nil); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := c.Call(ctx, "nop", "k", nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCallNewKey: the same call to a new key each time: the key's
// process starts first (its entry, the spawn, activation), the cost of
// every first use of a key beside BenchmarkCallHosted.
func BenchmarkCallNewKey(b *testing.B) {
	c := benchCluster(b).Node(0)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := c.Call(ctx, "nop", "k"+strconv.Itoa(i), nil); err != nil {
			b.Fatal(err)
		}
	}
}
