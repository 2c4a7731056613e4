package pg_test

import (
	"context"
	"fmt"

	"github.com/placerhq/placer/node/inproc"
	"github.com/placerhq/placer/node/pg"
)

// Two nodes run the default scope: a process on the first joins "workers",
// the second sees it (a local read), and get_closest_pid on the first
// prefers its own member.
func Example() {
	c, err := inproc.Start(2, inproc.Options{})
	if err != nil {
		panic(err)
	}
	defer c.Close()
	if err := c.ConnectAll(context.Background()); err != nil {
		panic(err)
	}
	s1, _ := pg.Start(c.Node(0), pg.DefaultConfig())
	defer s1.Close()
	s2, _ := pg.Start(c.Node(1), pg.DefaultConfig())
	defer s2.Close()

	watch, _ := s2.Monitor("workers") // pg:monitor: changes as they reach this node
	worker, _ := c.Node(0).NewInbox()
	if err := s1.Join("workers", worker.Self()); err != nil {
		panic(err)
	}
	ev := <-watch.C
	fmt.Println(ev.Kind, ev.Group, ev.PIDs[0] == worker.Self())
	fmt.Println(len(s2.Members("workers")), len(s2.LocalMembers("workers")), s2.WhichGroups())
	closest, _ := s1.Closest("workers")
	fmt.Println(closest == worker.Self())
	// Output:
	// join workers true
	// 1 0 [workers]
	// true
}
