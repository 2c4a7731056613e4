package global_test

import (
	"errors"
	"testing"

	"github.com/placerhq/placer/placement/global"
	"github.com/placerhq/placer/placement/placementtest"
)

// TestEndedRegistrationStaysEnded: a registration that was unregistered,
// claimed late after the name was registered again (a claim sent before
// the unregistration, or the state of a stale copy of the authority, as
// .ci/stress saw in TestPropNames), does not come back: it registered
// earlier, so the resolver alone would pick it over the new holder. The
// authority's graves refuse it, and they move with the authority.
func TestEndedRegistrationStaysEnded(t *testing.T) {
	g := newCluster(t, placementtest.Options{Nodes: 2}, nil)
	ctx := ctxT(t)
	svc := g.svc(g.Node(0))
	first, second := inbox(t, g.Node(0)), inbox(t, g.Node(1))
	for i, c := range g.Nodes() { // the authority on the claimant's node, then on the other
		name := idOwnedBy(t, c, "grave-"+c.Name())
		if err := svc.RegisterName(ctx, name, first.Self()); err != nil {
			t.Fatal(err)
		}
		late := svc.HeldRecord(name)
		if err := svc.UnregisterName(ctx, name); err != nil {
			t.Fatal(err)
		}
		if err := svc.RegisterName(ctx, name, second.Self()); err != nil {
			t.Fatal(err)
		}
		svc.ClaimAgain(late)
		// A claim after it (the same route, so it is handled after the late
		// one) whose answer shows the late one was handled.
		var taken *global.TakenError
		if err := svc.RegisterName(ctx, name, first.Self()); !errors.As(err, &taken) || taken.Holder != second.Self() {
			t.Fatalf("authority %d: registering the name again: %v, want taken", i, err)
		}
		eventually(t, func() error {
			for _, c := range g.Nodes() {
				if pid, ok := g.svc(c).WhereisName(name); !ok || pid != second.Self() {
					return errors.New(c.Name() + ": " + name + " held by " + pid.String() + ", want the new holder " + second.Self().String())
				}
			}
			return nil
		})
	}
}
