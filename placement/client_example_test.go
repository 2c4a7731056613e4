package placement_test

import (
	"context"
	"fmt"

	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/placement"
	"github.com/placerhq/placer/placement/membership"
)

// ExampleClient uses a one-node cluster from a hidden client, the way the
// placer CLI does: the client talks to an agent, never joins the ring, and
// is listed only among the agent's hidden peers.
func ExampleClient() {
	cookie := []byte("an example cookie of at least 32 bytes!")
	cfg := placement.DefaultConfig()
	cfg.Name, cfg.Cookie = "example3@127.0.0.1", cookie
	cfg.Membership.Profile = membership.ProfileLocal
	cfg.Kinds = map[string]node.KindFactory{"tally": func() node.Behavior { return &tally{} }}
	c, err := placement.Start(cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()

	ccfg := placement.DefaultClientConfig()
	ccfg.Name, ccfg.Cookie = "shell@localhost", cookie
	ccfg.Agents = []placement.AgentAddr{{Name: c.Name(), Addr: c.Node().Addr()}}
	cl, err := placement.NewClient(ccfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer cl.Close()
	ctx := context.Background()
	_ = cl.Send(ctx, "tally", "user-42", []byte("hit"))
	out, err := cl.Call(ctx, "tally", "user-42", nil)
	fmt.Println(string(out), err)
	ms, _ := cl.Members(ctx)
	fmt.Println(len(ms.Members), ms.Members[0].Name, ms.Hidden)
	lk, _ := cl.Lookup(ctx, "user-42", 1)
	fmt.Println(lk.Owner)
	// Output:
	// 1 <nil>
	// 1 example3@127.0.0.1 [shell@localhost]
	// example3@127.0.0.1
}
