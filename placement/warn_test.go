package placement_test

import (
	"context"
	"errors"
	"strconv"
	"testing"

	"github.com/rs/zerolog"

	"github.com/placerhq/placer/internal/logbuf"
	"github.com/placerhq/placer/internal/ratelog"
	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/placement"
	"github.com/placerhq/placer/placement/placementtest"
)

// TestPerKeyWarningsRateLimited: a kind whose Init fails for every key
// makes a few warning lines, not one per key, and the count of the ones
// held back is reported (at Close at the latest): every failure is
// accounted for.
func TestPerKeyWarningsRateLimited(t *testing.T) {
	t.Parallel()
	logs := &logbuf.Buffer{}
	tc := newTestCluster(t, false, placementtest.Options{Logger: zerolog.New(logs).Level(zerolog.WarnLevel)})
	c := tc.start(func(cfg *placement.Config) {
		cfg.Kinds["broken"] = func() node.Behavior { return brokenInit{} }
	})
	setView([]*placement.Cluster{c}, c)
	const keys = 40
	for i := range keys {
		if _, err := c.Call(context.Background(), "broken", "k"+strconv.Itoa(i), nil); !errors.Is(err, placement.ErrStart) {
			t.Fatalf("key %d: %v, want ErrStart", i, err)
		}
	}
	_ = c.Close() // writes the pending summary
	lines, total := ratelog.Tally(logs.String(), "start-failed")
	if lines == 0 || lines > keys/4 {
		t.Fatalf("%d start-failed lines for %d failures: want a few\n%s", lines, keys, logs.String())
	}
	if total != keys {
		t.Fatalf("the lines account for %d failures, want %d\n%s", total, keys, logs.String())
	}
}

// brokenInit is a keyed kind that never starts.
type brokenInit struct{ node.Base }

func (brokenInit) Init(*node.Proc, []byte) error { return errors.New("broken on purpose") }
