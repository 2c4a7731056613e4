package agent_test

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/placement/agent"
)

// A service runs a cluster member until SIGTERM, with its own keyed kind
// beside the built-in counter and kv; on SIGTERM every key is handed off
// before Run returns.
func Example() {
	cfg := agent.DefaultConfig()
	cfg.Name = "node1@127.0.0.1"
	cfg.Join = []string{"10.0.0.4:7946"} // gossip address of a member; none starts a new cluster
	cfg.Kinds = map[string]node.KindFactory{"cart": func() node.Behavior { return &node.Base{} }}
	if os.Getenv("PLACER_EXAMPLE_RUN") == "" {
		return // not run by go test: it would serve until a signal
	}
	if err := agent.Run(context.Background(), cfg); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// Start and Serve give the caller the agent while it runs: here a
// one-node cluster whose counter is called, then a graceful stop when
// the context ends.
func ExampleStart() {
	dir, _ := os.MkdirTemp("", "placer-example")
	defer os.RemoveAll(dir)
	cfg := agent.DefaultConfig()
	cfg.Name, cfg.Profile, cfg.HTTP = "example@127.0.0.1", "local", agent.HTTPOff
	cfg.CookieFile, cfg.NamesDir = filepath.Join(dir, "cookie"), filepath.Join(dir, "names")
	a, err := agent.Start(cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := a.Cluster().Call(ctx, agent.KindCounter, "visits", []byte("41"))
	fmt.Println(string(out), err)
	out, err = a.Cluster().Call(ctx, agent.KindCounter, "visits", []byte("1"))
	fmt.Println(string(out), err)

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, agent.Signals...)
	defer signal.Stop(sigs)
	stop, cancelServe := context.WithCancel(context.Background())
	cancelServe() // a service would cancel at shutdown
	fmt.Println(a.Serve(stop, sigs))
	// Output:
	// 41 <nil>
	// 42 <nil>
	// <nil>
}
