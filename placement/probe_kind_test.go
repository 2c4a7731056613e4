package placement_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/placerhq/placer/placement"
)

// TestProbeUnknownKindNamed: "unknown keyed kind" names the kind, on the
// node itself, across a hop to the owner, and through a placement.Client.
func TestProbeUnknownKindNamed(t *testing.T) {
	t.Parallel()
	tc := newTestCluster(t, false)
	cs := tc.startN(2, nil)
	setView(cs, cs...)
	cl := newMemClient(t, tc, tc.Cookie(), cs[0])
	ctx := context.Background()
	for i := range 8 { // keys owned by either node: local and one-hop replies
		key := "k" + strconv.Itoa(i)
		_, err := cs[0].Call(ctx, "no-such-kind", key, nil)
		if !errors.Is(err, placement.ErrUnknownKind) || !strings.Contains(err.Error(), `"no-such-kind"`) {
			t.Fatalf("cluster call, key %s: %v, want placement.ErrUnknownKind naming the kind", key, err)
		}
	}
	_, err := cl.Call(ctx, "other-kind", "k", nil)
	if !errors.Is(err, placement.ErrUnknownKind) || !strings.Contains(err.Error(), `"other-kind"`) {
		t.Fatalf("client call: %v, want placement.ErrUnknownKind naming the kind", err)
	}
}
