package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"

	"github.com/placerhq/placer/bench"
)

func init() {
	register(&command{
		name:    "bench cluster",
		summary: "measure join, leave, kill, heal, and replication under SIGKILL, SIGSTOP and restarts",
		run:     runBenchCluster,
	})
}

func runBenchCluster(args []string, stdout, stderr io.Writer) error {
	d := bench.DefaultClusterConfig()
	fs := newFlagSet("bench cluster", stderr)
	asJSON := fs.Bool("json", false, "print the figures as one JSON object instead of tables")
	nodes := fs.Int("nodes", d.Nodes, "cluster size of each phase (2..32); the join phase adds one")
	keys := fs.Int("keys", d.Keys, "stateful keyed processes")
	senders := fs.Int("senders", d.Senders, "goroutines sending during the leave phase")
	rate := fs.Int("rate", d.Rate, "messages per second, in all, during the leave phase")
	quiet := fs.Bool("quiet", false, "do not print progress to stderr")
	placerBin := fs.String("placer", "", "the placer binary whose agents the replication phases run (default: this one)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: placer bench cluster [--nodes 5] [--keys 10000] [--json]")
		fmt.Fprintln(stderr, "Runs join, leave (under traffic), kill and partition/heal, each on a fresh")
		fmt.Fprintln(stderr, "in-process cluster: TCP on 127.0.0.1, Serf with the local profile; then the")
		fmt.Fprintln(stderr, "replication phases: call latency with R = 2 beside R = 1, memory per live and")
		fmt.Fprintln(stderr, "passivated key, and SIGKILL, rolling restart and SIGSTOP of agent processes.")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	}
	if *nodes < 2 || *nodes > 32 || *keys < 1 || *keys > 1_000_000 || *senders < 1 || *rate < 1 {
		return fmt.Errorf("%w: need 2 <= --nodes <= 32, 1 <= --keys <= 1000000, --senders and --rate positive", errUsage)
	}
	cfg := bench.ClusterConfig{Nodes: *nodes, Keys: *keys, Senders: *senders, Rate: *rate, Placer: *placerBin}
	if cfg.Placer == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("bench cluster: finding this binary for the agent processes: %w", err)
		}
		cfg.Placer = exe
	}
	if !*quiet {
		cfg.Progress = func(step string) { fmt.Fprintln(stderr, "placer bench cluster:", step) }
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	r, err := bench.RunCluster(ctx, cfg)
	if err != nil {
		return usageIf(err)
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(r)
	}
	fmt.Fprintf(stdout, "placer bench cluster: %d nodes, %d keys, in-process on 127.0.0.1 (TCP, Serf local profile), %s, GOMAXPROCS=%d\n\n",
		cfg.Nodes, cfg.Keys, runtime.Version(), runtime.GOMAXPROCS(0))
	if err := bench.ClusterTable(r).Write(stdout); err != nil {
		return err
	}
	fmt.Fprintln(stdout)
	return bench.ClusterTargetTable(r.Targets).Write(stdout)
}
