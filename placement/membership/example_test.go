package membership_test

import (
	"crypto/rand"
	"fmt"
	"time"

	"github.com/placerhq/placer/placement/membership"
	"github.com/rs/zerolog"
)

func exampleCookie() []byte {
	c := make([]byte, membership.MinCookieLen)
	_, _ = rand.Read(c)
	return c
}

// Start a single node and list the ring candidates.
func ExampleStart() {
	cfg := membership.DefaultConfig()
	cfg.NodeName = "node1@127.0.0.1"
	cfg.Cookie = exampleCookie() // in a daemon: read from the cookie file
	cfg.Profile = membership.ProfileLocal
	cfg.TransportAddr = "127.0.0.1:9100"
	cfg.Weight = 2
	m, err := membership.Start(cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Shutdown()
	for _, mem := range m.Alive() {
		fmt.Println(mem.Name, mem.Status, mem.Weight, mem.TransportAddr)
	}
	// Output: node1@127.0.0.1 alive 2 127.0.0.1:9100
}

// Follow membership changes: the first View is the baseline, later ones
// carry the changes since the previous one.
func ExampleMembership_Subscribe() {
	cookie := exampleCookie()
	start := func(name string, join ...string) *membership.Membership {
		cfg := membership.DefaultConfig()
		cfg.NodeName, cfg.Cookie, cfg.Profile, cfg.Join = name, cookie, membership.ProfileLocal, join
		m, err := membership.Start(cfg)
		if err != nil {
			panic(err)
		}
		return m
	}
	a := start("a@127.0.0.1")
	defer a.Shutdown()
	views, cancel := a.Subscribe()
	defer cancel()
	base := <-views
	fmt.Println("baseline:", len(base.Alive), "alive")

	b := start("b@127.0.0.1", a.GossipAddr())
	defer b.Shutdown()
	for v := range views {
		for _, c := range v.Changes {
			fmt.Println(c.Kind, c.Member.Name)
		}
		if len(v.Alive) == 2 {
			break
		}
	}
	// Output:
	// baseline: 1 alive
	// join b@127.0.0.1
}

// Partition two in-process nodes with a FaultNet, then heal them.
func ExampleFaultNet() {
	fn := membership.NewFaultNet(zerolog.Nop())
	cookie := exampleCookie()
	var nodes []*membership.Membership
	for _, name := range []string{"a@127.0.0.1", "b@127.0.0.1"} {
		tr, err := fn.NewTransport("127.0.0.1", 0)
		if err != nil {
			panic(err)
		}
		cfg := membership.DefaultConfig()
		cfg.NodeName, cfg.Cookie, cfg.Profile, cfg.Transport = name, cookie, membership.ProfileLocal, tr
		if len(nodes) > 0 {
			cfg.Join = []string{nodes[0].GossipAddr()}
		}
		m, err := membership.Start(cfg)
		if err != nil {
			panic(err)
		}
		defer m.Shutdown()
		nodes = append(nodes, m)
	}
	waitAlive := func(n int) {
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if len(nodes[0].Alive()) == n && len(nodes[1].Alive()) == n {
				fmt.Println(n, "alive on both")
				return
			}
		}
		fmt.Println("timeout")
	}
	waitAlive(2)
	fn.Partition([]string{nodes[0].GossipAddr()}, []string{nodes[1].GossipAddr()})
	waitAlive(1)
	fn.Heal()
	waitAlive(2)
	// Output:
	// 2 alive on both
	// 1 alive on both
	// 2 alive on both
}
