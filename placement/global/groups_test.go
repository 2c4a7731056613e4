package global_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/node/pg"
	"github.com/placerhq/placer/placement/placementtest"
)

// Process groups beside the names on the same cluster: the members of a
// node that crashes vanish from every other node's view of the group.
func TestGroupMembersOfDownedNodeVanish(t *testing.T) {
	g := newCluster(t, placementtest.Options{Nodes: 3}, nil)
	var scopes []*pg.Scope
	var members []node.PID
	for _, c := range g.Nodes() {
		s, err := pg.Start(c.Node(), pg.DefaultConfig())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		ib := inbox(t, c)
		if err := s.Join("todo_list/bob", ib.Self()); err != nil {
			t.Fatal(err)
		}
		scopes, members = append(scopes, s), append(members, ib.Self())
	}
	want := func(n int) func() error {
		return func() error {
			for i, s := range scopes[:n] {
				got := s.Members("todo_list/bob")
				for _, m := range members[:n] {
					if !slices.Contains(got, m) {
						return fmt.Errorf("node %d: members %v lack %v", i+1, got, m)
					}
				}
				if len(got) != n {
					return fmt.Errorf("node %d: members %v, want %d", i+1, got, n)
				}
			}
			return nil
		}
	}
	eventually(t, want(3))
	if err := g.Crash(g.Node(2)); err != nil {
		t.Fatal(err)
	}
	eventually(t, want(2))
}
