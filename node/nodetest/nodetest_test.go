package nodetest

import (
	"context"
	"errors"
	"testing"

	"go.uber.org/goleak"

	"github.com/placerhq/placer/node"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestClusterBothTransports(t *testing.T) {
	for _, tr := range []Transport{Memnet, TCP} {
		t.Run(tr.String(), func(t *testing.T) {
			c := New(t, 3, Options{Transport: tr})
			if err := c.ConnectAll(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got := c.Node(0).Nodes(node.NodesVisible); len(got) != 2 {
				t.Fatalf("n1 sees %v", got)
			}
			old := c.Node(1).Creation()
			n2, err := c.Restart(1, nil)
			if err != nil {
				t.Fatal(err)
			}
			if n2.Creation() == old || c.Node(1) != n2 || c.Len() != 3 {
				t.Fatal("restart did not replace the member with a new incarnation")
			}
			if c.Node(0).IsConnected(c.Name(1)) {
				t.Fatal("Restart returned before peers saw the old node go")
			}
			if !c.Node(0).Connect(context.Background(), c.Name(1)) {
				t.Fatal("cannot reach the restarted node")
			}
			err = c.Cut(0, 1)
			if (tr == TCP) != errors.Is(err, ErrNotMemnet) {
				t.Fatalf("Cut on %s: %v", tr, err)
			}
		})
	}
}
