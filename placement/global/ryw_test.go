package global_test

import (
	"fmt"
	"testing"

	"github.com/placerhq/placer/placement/placementtest"
)

// The node that registers or unregisters a name reads its own write at
// once, also when the name's authority is on that node (it answers before
// it publishes: the answer itself updates the caller's replica).
func TestReadYourWrites(t *testing.T) {
	g := newCluster(t, placementtest.Options{Nodes: 2}, nil)
	ctx := ctxT(t)
	for _, c := range g.Nodes() { // an authority on the calling node, then on the other
		holder := inbox(t, g.Node(1))
		for i := range 30 {
			name := idOwnedBy(t, c, fmt.Sprintf("ryw-%s-%d", c.Name(), i))
			svc := g.svc(g.Node(0))
			if err := svc.RegisterName(ctx, name, holder.Self()); err != nil {
				t.Fatal(err)
			}
			if pid, ok := svc.WhereisName(name); !ok || pid != holder.Self() {
				t.Fatalf("%s (authority on %s) right after RegisterName: %v %v", name, c.Name(), pid, ok)
			}
			if err := svc.UnregisterName(ctx, name); err != nil {
				t.Fatal(err)
			}
			if pid, ok := svc.WhereisName(name); ok {
				t.Fatalf("%s (authority on %s) right after UnregisterName: still held by %v", name, c.Name(), pid)
			}
		}
	}
}
