package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"
)

// `placer demo` starts a real placer cluster inside this process (TCP on
// 127.0.0.1, Serf with the local profile, a random cookie held in memory) and
// walks through the seed notes (an Elixir tour of Erlang distribution): each
// step prints the Elixir line, the placer call that does the same, and the
// result placer measured. docs/demo.md describes every step.

func init() {
	register(&command{
		name:    "demo",
		summary: "start a local cluster on loopback and walk through the Erlang distribution tour",
		run:     runDemoCommand,
	})
}

// Demo errors (package main has no public API; these name the failure kinds).
var (
	// errDemoCheck: a figure the demo measured contradicts what placer
	// promises (a lost message, a second process for a key...).
	errDemoCheck = errors.New("check failed")
	// errDemoTimeout: the cluster did not reach an expected state in time.
	errDemoTimeout = errors.New("timed out")
	// errDemoCut: a send refused by the demo's simulated partition.
	errDemoCut = errors.New("cut by the demo partition")
)

// demoStep is one section of the walk-through.
type demoStep struct {
	name  string // for --step
	title string // section header
	run   func(ctx context.Context, d *demo) error
}

// demoSteps lists the sections in the seed's order (global names, locks
// and groups are not built yet and are skipped with a note).
func demoSteps() []demoStep {
	return []demoStep{
		{"start", "Starting a cluster", stepStart},
		{"monitor", "Node monitoring: :net_kernel.monitor_nodes(true)", stepMonitor},
		{"spawn", "Communicating between nodes: Node.spawn", stepSpawn},
		{"register", "Local processes between nodes: {name, node}, abcast, multi_call", stepRegister},
		{"rpc", "Other distribution services: :rpc", stepRPC},
		{"discovery", "Optimizing distributed process discovery: modulo vs ring", stepDiscovery},
		{"join", "A node joins: handoff", stepJoin},
		{"crash", "Links and monitors across nodes: a node crashes", stepCrash},
		{"leave", "Graceful leave of a node", stepLeave},
		{"partition", "Detecting partitions: split, write both sides, heal", stepPartition},
		{"hidden", "Hidden nodes", stepHidden},
		{"cookie", "Cookies", stepCookie},
		{"ports", "Node listening ports", stepPorts},
	}
}

// demoOptions are the parsed flags.
type demoOptions struct {
	nodes    int           // cluster size at start (3..9)
	keys     int           // todo lists (keyed processes)
	names    int           // list names for the modulo-vs-ring comparison
	steps    []int         // indexes into demoSteps, in order
	portMin  int           // range for the ports step (0: pick a free one)
	portMax  int           // its top
	quiet    bool          // print only the summary table
	json     bool          // print only the summary as JSON
	logLevel string        // "" = no logs; else a zerolog level, to stderr
	cookie   []byte        // tests only: nil = 32 random bytes
	timeout  time.Duration // bound on each wait for a cluster state
}

func defaultDemoOptions() demoOptions {
	return demoOptions{nodes: 3, keys: 1000, names: 10000, timeout: 30 * time.Second}
}

func runDemoCommand(args []string, stdout, stderr io.Writer) error {
	o, err := parseDemoFlags(args, stderr)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	return runDemo(ctx, o, stdout, stderr)
}

func parseDemoFlags(args []string, stderr io.Writer) (demoOptions, error) {
	o := defaultDemoOptions()
	fs := newFlagSet("demo", stderr)
	fs.IntVar(&o.nodes, "nodes", o.nodes, "cluster size at start (3..9)")
	fs.IntVar(&o.keys, "keys", o.keys, "todo lists (keyed processes) to create, move and check (10..100000)")
	fs.IntVar(&o.names, "names", o.names, "list names for the modulo-vs-ring churn comparison (100..10000000)")
	step := fs.String("step", "", "run only these steps: names or numbers, comma-separated (see below)")
	fs.IntVar(&o.portMin, "port-min", 0, "lowest transport port for the ports step (0: pick a free range)")
	fs.IntVar(&o.portMax, "port-max", 0, "highest transport port for the ports step (default port-min+9)")
	fs.BoolVar(&o.quiet, "quiet", false, "print only the summary of measured figures")
	fs.BoolVar(&o.json, "json", false, "print only the measured figures, as one JSON object")
	fs.DurationVar(&o.timeout, "timeout", o.timeout, "give up (and fail the step) if the cluster has not reached a state after this long")
	fs.StringVar(&o.logLevel, "log", "", "print placer's own logs to stderr at this level (debug, info, warn, error)")
	fs.Usage = func() { demoUsage(fs.PrintDefaults, stderr) }
	if err := parseFlags(fs, args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	}
	var err error
	if o.steps, err = parseDemoSteps(*step); err != nil {
		return o, err
	}
	return o, o.validate()
}

func demoUsage(printDefaults func(), w io.Writer) {
	fmt.Fprintln(w, "usage: placer demo [--nodes 3] [--keys 1000] [--step NAME,...] [--quiet | --json]")
	fmt.Fprintln(w, "Starts a placer cluster in this process (TCP on 127.0.0.1, Serf local profile,")
	fmt.Fprintln(w, "a random cookie held in memory) and walks through the Erlang distribution tour.")
	printDefaults()
	fmt.Fprintln(w, "\nsteps:")
	for i, s := range demoSteps() {
		fmt.Fprintf(w, "  %2d %-10s %s\n", i+1, s.name, s.title)
	}
}

// parseDemoSteps turns "join,8,leave" into step indexes (all if empty),
// in the walk-through's order, each once.
func parseDemoSteps(spec string) ([]int, error) {
	all := demoSteps()
	want := make([]bool, len(all))
	for _, f := range strings.Split(spec, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		i, ok := demoStepIndex(all, f)
		if !ok {
			return nil, fmt.Errorf("%w: unknown step %q (run `placer demo -h` for the list)", errUsage, f)
		}
		want[i] = true
	}
	var out []int
	for i := range all {
		if want[i] || strings.TrimSpace(spec) == "" {
			out = append(out, i)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: --step names no step", errUsage)
	}
	return out, nil
}

func demoStepIndex(all []demoStep, f string) (int, bool) {
	if n, err := strconv.Atoi(f); err == nil {
		return n - 1, n >= 1 && n <= len(all)
	}
	for i, s := range all {
		if s.name == f {
			return i, true
		}
	}
	return 0, false
}

func (o *demoOptions) validate() error {
	switch {
	case o.nodes < 3 || o.nodes > 9:
		return fmt.Errorf("%w: --nodes must be 3..9", errUsage)
	case o.keys < 10 || o.keys > 100_000:
		return fmt.Errorf("%w: --keys must be 10..100000", errUsage)
	case o.names < 100 || o.names > 10_000_000:
		return fmt.Errorf("%w: --names must be 100..10000000", errUsage)
	case o.quiet && o.json:
		return fmt.Errorf("%w: --quiet and --json exclude each other", errUsage)
	case o.timeout < time.Second:
		return fmt.Errorf("%w: --timeout must be at least 1s", errUsage)
	}
	if o.portMin != 0 && o.portMax == 0 {
		o.portMax = min(o.portMin+9, 65535)
	}
	if o.portMin < 0 || o.portMax > 65535 || (o.portMin == 0) != (o.portMax == 0) || o.portMax < o.portMin {
		return fmt.Errorf("%w: --port-min/--port-max need 1 <= min <= max <= 65535", errUsage)
	}
	if o.logLevel != "" {
		if _, err := zerolog.ParseLevel(o.logLevel); err != nil {
			return fmt.Errorf("%w: --log %q: %v", errUsage, o.logLevel, err)
		}
	}
	return nil
}

// runDemo runs the selected steps on a fresh cluster and prints the
// narration (unless quiet or json) and the summary. It always closes every
// node it started before returning.
func runDemo(ctx context.Context, o demoOptions, stdout, stderr io.Writer) error {
	d, err := newDemo(o, stdout, stderr)
	if err != nil {
		return err
	}
	return d.main(ctx, stdout)
}

// main runs the demo, closes the cluster and prints the summary.
func (d *demo) main(ctx context.Context, stdout io.Writer) error {
	err := d.run(ctx)
	if cerr := d.finish(err == nil); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return d.writeSummary(stdout)
}

// run starts the cluster and runs every selected step.
func (d *demo) run(ctx context.Context) error {
	d.header()
	if err := d.setup(ctx); err != nil {
		return fmt.Errorf("setup failed: %w", err)
	}
	all := demoSteps()
	for _, i := range d.o.steps {
		s := all[i]
		d.section(i+1, s.title)
		start := time.Now()
		if err := s.run(ctx, d); err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("step %d (%s) interrupted: %w", i+1, s.name, ctx.Err())
			}
			return fmt.Errorf("step %d (%s) failed: %w", i+1, s.name, err)
		}
		d.stepMS[s.name] = demoSince(start)
	}
	return nil
}

// finish closes the cluster and records the cleanup and total times; it
// narrates the cleanup if the run succeeded.
func (d *demo) finish(narrate bool) error {
	start := time.Now()
	n, err := d.close()
	d.cleanupMS = demoSince(start)
	d.totalMS = demoSince(d.t0)
	if narrate && err == nil {
		d.section(0, "Cleanup")
		d.note("closed %d nodes in %.0f ms", n, d.cleanupMS)
	}
	return err
}

func demoSince(t time.Time) float64 { return float64(time.Since(t).Microseconds()) / 1000 }
