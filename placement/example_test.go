package placement_test

import (
	"context"
	"fmt"
	"strconv"

	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/placement"
	"github.com/placerhq/placer/placement/membership"
)

// tally is a keyed process kind: one per key, counting the messages it
// gets; its count moves with it on a handoff.
type tally struct {
	node.Base
	n int
}

func (t *tally) HandleMessage(_ *node.Proc, m node.Msg) {
	if _, ok := m.(node.Message); ok {
		t.n++
	}
}

func (t *tally) HandleCall(*node.Proc, node.PID, []byte) ([]byte, error) {
	return []byte(strconv.Itoa(t.n)), nil
}

func (t *tally) ExportState(*node.Proc) ([]byte, error) { return []byte(strconv.Itoa(t.n)), nil }

func (t *tally) ImportState(_ *node.Proc, b []byte) (err error) {
	t.n, err = strconv.Atoi(string(b))
	return err
}

// Example starts a one-node cluster on loopback, sends to a keyed process
// (started on first use on the key's owner), calls it, and leaves.
func Example() {
	cfg := placement.DefaultConfig()
	cfg.Name = "example1@127.0.0.1"
	cfg.Cookie = []byte("an example cookie of at least 32 bytes!")
	cfg.Membership.Profile = membership.ProfileLocal
	cfg.Kinds = map[string]node.KindFactory{"tally": func() node.Behavior { return &tally{} }}
	c, err := placement.Start(cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	for range 3 {
		_ = c.Send(ctx, "tally", "user-42", []byte("hit"))
	}
	out, err := c.Call(ctx, "tally", "user-42", nil)
	fmt.Println(string(out), err)
	fmt.Println("owner:", c.Owner("user-42"))
	fmt.Println("leave:", c.Leave(ctx))
	// Output:
	// 3 <nil>
	// owner: example1@127.0.0.1
	// leave: <nil>
}

// ExampleCluster_View shows the ownership view: the members, and the
// owner of a key with its replicas.
func ExampleCluster_View() {
	cfg := placement.DefaultConfig()
	cfg.Name = "example2@127.0.0.1"
	cfg.Cookie = []byte("an example cookie of at least 32 bytes!")
	cfg.Membership.Profile = membership.ProfileLocal
	c, err := placement.Start(cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	v := c.View()
	fmt.Println(v.Epoch, len(v.Members), v.Members[0].Name)
	fmt.Println(v.OwnerN("some-key", 3))
	// Output:
	// 1 1 example2@127.0.0.1
	// [example2@127.0.0.1]
}
