package global_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/placerhq/placer/placement/global"
	"github.com/placerhq/placer/placement/placementtest"
)

// A burst of registrations reaches every node in fewer messages than
// changes when Config.Coalesce gathers them, and in one message per change
// and node when it is off; either way every node ends with every name.
func TestCoalescedDissemination(t *testing.T) {
	const names = 30
	for _, tc := range []struct {
		coalesce time.Duration
		check    func(frames, merged, published uint64) error
	}{
		{-1, func(frames, merged, published uint64) error {
			// Each change goes to the two other nodes, alone or merged
			// into a message queued before it (no change is held back,
			// but what queued while the sender was busy is merged).
			if frames+merged < 2*published {
				return fmt.Errorf("%d messages and %d changes merged for %d changes, want at least %d in all", frames, merged, published, 2*published)
			}
			return nil
		}},
		{time.Second, func(frames, merged, published uint64) error {
			// The nodes' syncs at connection are counted too: a few.
			if frames >= 2*published || merged == 0 {
				return fmt.Errorf("%d messages (%d changes merged) for %d changes: not gathered", frames, merged, published)
			}
			return nil
		}},
	} {
		t.Run(fmt.Sprint(tc.coalesce), func(t *testing.T) {
			g := newCluster(t, placementtest.Options{Nodes: 3}, func(c *global.Config) {
				c.Coalesce = tc.coalesce
				c.SyncInterval = time.Hour // no digests among the messages counted
			})
			ctx := ctxT(t)
			holder := inbox(t, g.Node(0))
			sent := func() (n, merged, pub uint64) {
				for i := range 3 {
					st := g.svcAt(i).Stats()
					n, merged, pub = n+st.Sent, merged+st.Coalesced, pub+st.Published
				}
				return n, merged, pub
			}
			sent0, merged0, pub0 := sent()
			for i := range names {
				if err := g.svcAt(0).RegisterName(ctx, fmt.Sprintf("burst/%d", i), holder.Self()); err != nil {
					t.Fatal(err)
				}
			}
			for i := range 3 {
				eventually(t, func() error {
					if got := len(g.svcAt(i).RegisteredNames()); got != names {
						return fmt.Errorf("node%d sees %d names of %d", i+1, got, names)
					}
					return nil
				})
			}
			n, merged, pub := sent()
			if pub-pub0 != names {
				t.Fatalf("%d changes published, want %d", pub-pub0, names)
			}
			if err := tc.check(n-sent0, merged-merged0, pub-pub0); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// Close ends a sender that is holding changes back, at once.
func TestCloseWhileCoalescing(t *testing.T) {
	g := newCluster(t, placementtest.Options{Nodes: 2}, func(c *global.Config) {
		c.Coalesce = time.Hour
		c.SyncInterval = time.Hour
	})
	ctx := ctxT(t)
	holder := inbox(t, g.Node(0))
	s := g.svcAt(0)
	before := s.Stats().Published
	for i := 0; s.Stats().Published < before+2; i++ { // two changes of its own: the second is held
		if err := s.RegisterName(ctx, fmt.Sprintf("held/%d", i), holder.Self()); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan error, 1)
	go func() { done <- s.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not end the sender holding a change back")
	}
}
