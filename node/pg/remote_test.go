package pg_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/node/nodetest"
	"github.com/placerhq/placer/node/pg"
)

// A hidden node (the CLI) sees no group through its own scope; it asks a
// member node's scope with Remote.
func TestRemoteFromHiddenNode(t *testing.T) {
	c, scopes := cluster(t, 2, nodetest.Options{})
	h, err := c.Add("cli@127.0.0.1", func(cfg *node.Config, _ *[]byte) { cfg.Hidden = true })
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a, b := inbox(t, c.Node(0)), inbox(t, c.Node(1))
	_ = scopes[1].Join("g", b.Self())
	waitMembers(t, scopes, "g", b.Self())
	r := pg.NewRemote(h.Node, c.Name(0), "")
	if err := r.Join(ctx, "g", a.Self(), a.Self()); err != nil {
		t.Fatal(err)
	}
	got, err := r.Members(ctx, "g")
	if err != nil || !slices.Equal(sorted(got), sorted([]node.PID{a.Self(), a.Self(), b.Self()})) {
		t.Fatalf("remote members %v %v", got, err)
	}
	gs, err := r.Groups(ctx)
	if err != nil || !slices.Equal(gs, []pg.GroupInfo{{Name: "g", Members: 3, Local: 2}}) {
		t.Fatalf("remote groups %v %v", gs, err)
	}
	if err := r.Leave(ctx, "g", a.Self(), a.Self()); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		err, want error
	}{
		{r.Join(ctx, "g", b.Self()), pg.ErrNotLocal}, // b lives on node 2, not on the node asked
		{r.Leave(ctx, "g", a.Self()), pg.ErrNotJoined},
		{r.Join(ctx, "", a.Self()), pg.ErrBadGroup},
		{pg.NewRemote(h.Node, c.Name(0), "nope").Join(ctx, "g", a.Self()), node.ErrNoProc},
	} {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("got %v, want %v", tc.err, tc.want)
		}
	}
	if _, err := r.Members(ctx, string(make([]byte, 300))); !errors.Is(err, pg.ErrBadGroup) {
		t.Fatalf("oversized name: %v", err)
	}
}
