package global_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/placerhq/placer/placement"
	"github.com/placerhq/placer/placement/global"
	"github.com/placerhq/placer/placement/placementtest"
)

// idOwnedBy returns an id with prefix that c owns in its view.
func idOwnedBy(t *testing.T, c *placement.Cluster, prefix string) string {
	t.Helper()
	for i := range 10_000 {
		if id := fmt.Sprintf("%s-%d", prefix, i); c.Owner(id) == c.Name() {
			return id
		}
	}
	t.Fatalf("no id owned by %s", c.Name())
	return ""
}

// With R = 1, the crash of a name's authority loses no live registration
// and no lock: the new authority learns them from the other nodes (claims
// and recovery) before it answers, and its tokens keep growing.
func TestAuthorityCrash(t *testing.T) {
	g := newCluster(t, placementtest.Options{Nodes: 3}, nil)
	ctx := ctxT(t)
	a, b, c := g.Node(0), g.Node(1), g.Node(2)
	name, lock := idOwnedBy(t, b, "name"), idOwnedBy(t, b, "lock")
	holder := inbox(t, a)
	if err := g.svc(a).RegisterName(ctx, name, holder.Self()); err != nil {
		t.Fatal(err)
	}
	t1, err := g.svc(a).SetLock(ctx, lock, holder.Self(), global.LockOpts{})
	if err != nil {
		t.Fatal(err)
	}
	nameEverywhere(t, g, name, holder.Self())
	if err := g.Crash(b); err != nil {
		t.Fatal(err)
	}
	other := inbox(t, c)
	if err := g.svc(c).RegisterName(ctx, name, other.Self()); !errors.Is(err, global.ErrNameTaken) {
		t.Fatalf("register after the authority crashed: %v, want taken", err)
	}
	if _, err := g.svc(c).SetLock(ctx, lock, other.Self(), global.LockOpts{}); !errors.Is(err, global.ErrLockBusy) {
		t.Fatalf("set_lock after the authority crashed: %v, want busy", err)
	}
	nameEverywhere(t, g, name, holder.Self())
	if err := g.svc(a).DelLock(ctx, lock, holder.Self()); err != nil {
		t.Fatal(err)
	}
	t2, err := g.svc(c).SetLock(ctx, lock, other.Self(), global.LockOpts{})
	if err != nil || t2 <= t1 {
		t.Fatalf("token after failover %d (before %d), %v", t2, t1, err)
	}
}

// A node that restarts (new creation, empty replica) learns every name.
func TestRestartedNodeLearnsNames(t *testing.T) {
	g := newCluster(t, placementtest.Options{Nodes: 3}, nil)
	ctx := ctxT(t)
	holder := inbox(t, g.Node(0))
	var names []string
	for i := range 50 {
		name := fmt.Sprintf("n%d", i)
		names = append(names, name)
		if err := g.svcAt(0).RegisterName(ctx, name, holder.Self()); err != nil {
			t.Fatal(err)
		}
	}
	victim := g.Node(2)
	vname := victim.Name()
	if err := g.Crash(victim); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		nameEverywhere(t, g, n, holder.Self())
	}
	g.add(vname)
	for _, n := range names {
		nameEverywhere(t, g, n, holder.Self())
	}
}
