package placementtest_test

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/placement/placementtest"
)

// cart is a user's keyed kind: it counts the items added to one cart.
type cart struct {
	node.Base
	items int
}

func (c *cart) HandleCall(_ *node.Proc, _ node.PID, req []byte) ([]byte, error) {
	if string(req) == "add" {
		c.items++
	}
	return []byte(strconv.Itoa(c.items)), nil
}

func (c *cart) ExportState(*node.Proc) ([]byte, error) { return []byte(strconv.Itoa(c.items)), nil }

func (c *cart) ImportState(_ *node.Proc, b []byte) (err error) {
	c.items, err = strconv.Atoi(string(b))
	return err
}

// A user's kind against a real three-node cluster: its state survives the
// graceful leave of the node that hosted it. In a test, use
// placementtest.New(t, ...) and placementtest.CheckFor.
func Example() {
	ctx := context.Background()
	c, err := placementtest.Start(ctx, placementtest.Options{
		Nodes: 3,
		Kinds: map[string]node.KindFactory{"cart": func() node.Behavior { return &cart{} }},
	})
	if err != nil {
		panic(err)
	}
	defer c.Close()
	n1 := c.Node(0)
	for range 3 {
		if _, err := n1.Call(ctx, "cart", "user-42", []byte("add")); err != nil {
			panic(err)
		}
	}
	owner := c.Nodes()[indexOf(c.Names(), n1.Owner("user-42"))]
	if err := c.Leave(ctx, owner); err != nil {
		panic(err)
	}
	err = placementtest.WaitFor(ctx, 5*time.Second, func() error { return placementtest.Settled(c.Nodes(), "cart") })
	out, _ := c.Node(0).Call(ctx, "cart", "user-42", []byte("get"))
	fmt.Println(err, string(out), owner.Name() != c.Node(0).Owner("user-42"))
	// Output: <nil> 3 true
}

func indexOf(names []string, name string) int {
	for i, n := range names {
		if n == name {
			return i
		}
	}
	return -1
}
