package placement_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/placerhq/placer/placement"
)

// TestJoinerOwnsNothingUntilJoined: a node given a join list that cannot
// be reached (here: nothing listens there) used to serve keyed requests
// from a one-node island after JoinTimeout. It owns no key until it has
// joined; with Bootstrap it may start a cluster of its own.
func TestJoinerOwnsNothingUntilJoined(t *testing.T) {
	tc := newTestCluster(t, true)
	lost := tc.start(func(c *placement.Config) {
		c.Membership.Join, c.Membership.RetryJoinInterval = []string{"127.0.0.1:1"}, 50*time.Millisecond
		c.JoinTimeout = 100 * time.Millisecond
	})
	if o := lost.Owner("k"); o != "" {
		t.Fatalf("a joiner that never joined owns keys: owner %q", o)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := lost.Call(ctx, "counter", "k", nil); !errors.Is(err, placement.ErrNoMembers) {
		t.Fatalf("call on a node that never joined: %v", err)
	}
	boot := tc.start(func(c *placement.Config) {
		c.Membership.Join, c.Bootstrap, c.JoinTimeout = []string{"127.0.0.1:1"}, true, 100*time.Millisecond
	})
	if o := boot.Owner("k"); o != boot.Name() {
		t.Fatalf("a bootstrapping node owns nothing: %q", o)
	}
}
