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
		name:    "bench transport",
		summary: "measure the node-to-node wire against raw TCP (throughput, call latency, bulk)",
		run:     runBenchTransport,
	})
}

func runBenchTransport(args []string, stdout, stderr io.Writer) error {
	d := bench.DefaultTransportConfig()
	fs := newFlagSet("bench transport", stderr)
	asJSON := fs.Bool("json", false, "print the figures as one JSON object instead of tables")
	msgs := fs.Int("msgs", d.Messages, "one-way 64-byte messages (and raw TCP frames) for the throughput figures")
	calls := fs.Int("calls", d.Calls, "sequential calls (and raw TCP ping-pongs) behind each latency percentile")
	callers := fs.Int("callers", d.Callers, "concurrent callers for calls_per_s_16")
	dur := fs.Duration("duration", d.CallersDuration, "how long the concurrent callers run")
	payload := fs.Int("payload", d.Payload, "payload bytes of messages, calls and raw TCP frames")
	bulk := fs.Int("bulk-size", d.BulkSize, "bytes per message of the bulk stream (at most the 1 MiB frame limit minus headers)")
	paced := fs.Float64("paced-bulk-mbps", d.PacedBulkMBps, "rate of the paced bulk stream, MB/s")
	window := fs.Int("bulk-window", 0, "bulk flow-control window of both endpoints, bytes (0: the transport default, 64 KiB)")
	frag := fs.Int("fragment-size", 0, "fragment size of both endpoints, bytes (0: the transport default, 32 KiB)")
	traceFile := fs.String("trace", "", "write an execution trace (go tool trace) of the calls under the flat-out bulk stream to this file")
	nd := bench.DefaultNodeConfig()
	proc := fs.Bool("proc", true, "also measure process-to-process figures between two nodes (--proc=false skips them)")
	procMsgs := fs.Int("proc-msgs", nd.Messages, "messages for each process send rate")
	procCalls := fs.Int("proc-calls", nd.Calls, "sequential remote process calls (and as many transport calls interleaved)")
	procSpawns := fs.Int("proc-spawns", nd.Spawns, "spawns for each spawn rate")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: placer bench transport [--json] [--msgs N] [--calls N] [--duration D] [--proc=false] [--bulk-window N] [--fragment-size N] [--trace FILE]")
		fmt.Fprintln(stderr, "Starts two endpoints on 127.0.0.1 and a raw-TCP baseline in the same run.")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	}
	cfg := bench.TransportConfig{Messages: *msgs, Calls: *calls, Callers: *callers, CallersDuration: *dur,
		Payload: *payload, BulkSize: *bulk, PacedBulkMBps: *paced, BulkWindow: *window, FragmentSize: *frag}
	if err := cfg.Check(); err != nil {
		return usageIf(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ncfg := bench.NodeConfig{Messages: *procMsgs, Calls: *procCalls, Spawns: *procSpawns, Payload: *payload}
	if *proc && (ncfg.Messages <= 0 || ncfg.Calls <= 0 || ncfg.Spawns <= 0) {
		return fmt.Errorf("%w: --proc-msgs, --proc-calls and --proc-spawns must be positive", errUsage)
	}
	tr, err := bench.RunTransportTraced(ctx, cfg, *traceFile)
	if err != nil {
		return err
	}
	var nr *bench.NodeResult
	if *proc {
		res, err := bench.RunNode(ctx, ncfg)
		if err != nil {
			return fmt.Errorf("process figures: %w", err)
		}
		nr = &res
	}
	r := bench.NewTransportReport(tr, nr)
	if *asJSON {
		return json.NewEncoder(stdout).Encode(r)
	}
	return reportTransport(r, stdout)
}

func reportTransport(r bench.TransportReport, stdout io.Writer) error {
	fmt.Fprintf(stdout, "placer bench transport: two endpoints on 127.0.0.1, %s, GOMAXPROCS=%d; raw TCP measured in the same run\n\n",
		runtime.Version(), runtime.GOMAXPROCS(0))
	if err := bench.TransportTable(r.TransportResult).Write(stdout); err != nil {
		return err
	}
	fmt.Fprintln(stdout)
	if r.NodeFigures != nil {
		fmt.Fprintln(stdout, "process to process (two nodes on 127.0.0.1):")
		if err := bench.NodeTable(*r.NodeFigures).Write(stdout); err != nil {
			return err
		}
		fmt.Fprintln(stdout)
	}
	return bench.TransportTargetTable(r.Targets).Write(stdout)
}
