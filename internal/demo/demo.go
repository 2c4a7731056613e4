// Package demo is `placer demo`: it starts a real placer cluster inside
// this process (TCP on 127.0.0.1, Serf with the local profile, a random
// cookie held in memory) and walks through the seed notes (an Elixir tour
// of Erlang distribution): each step prints the Elixir line, the placer
// call that does the same, and the result placer measured.
// docs/demo.md describes every step; cmd/placer holds only its flags.
package demo

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"
)

// demoStep is one section of the walk-through.
type demoStep struct {
	name  string // for --step
	title string // section header
	run   func(ctx context.Context, d *demo) error
}

// demoSteps lists the sections in the seed's order.
func demoSteps() []demoStep {
	return []demoStep{
		{"start", "Starting a cluster", stepStart},
		{"monitor", "Node monitoring: :net_kernel.monitor_nodes(true)", stepMonitor},
		{"spawn", "Communicating between nodes: Node.spawn", stepSpawn},
		{"register", "Local processes between nodes: {name, node}, abcast, multi_call", stepRegister},
		{"global", "Global process registration: :global, on the ring", stepGlobal},
		{"groups", "Process groups: :pg2 (today's :pg)", stepGroups},
		{"rpc", "Other distribution services: :rpc", stepRPC},
		{"locks", "Other distribution services: :global locks, with fencing tokens", stepLocks},
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

// Options are the demo's settings: the flags of `placer demo`.
type Options struct {
	Nodes    int           // cluster size at start (3..9)
	Keys     int           // todo lists (keyed processes), 10..100000
	Names    int           // list names for the modulo-vs-ring comparison, 100..10000000
	Steps    []int         // indexes into the steps (see ParseSteps), in order
	PortMin  int           // range for the ports step (0: pick a free one)
	PortMax  int           // its top (0 with PortMin set: PortMin+9)
	Quiet    bool          // print only the summary table
	JSON     bool          // print only the summary as JSON
	LogLevel string        // "" = no logs; else a zerolog level, to stderr
	Cookie   []byte        // tests only: nil = 32 random bytes
	Timeout  time.Duration // bound on each wait for a cluster state (>= 1 s)
}

// DefaultOptions are the defaults of `placer demo`: every step.
func DefaultOptions() Options {
	steps, _ := ParseSteps("")
	return Options{Nodes: 3, Keys: 1000, Names: 10000, Steps: steps, Timeout: 30 * time.Second}
}

// StepsUsage lists the steps, numbered, for the usage text.
func StepsUsage(w io.Writer) {
	fmt.Fprintln(w, "\nsteps:")
	for i, s := range demoSteps() {
		fmt.Fprintf(w, "  %2d %-10s %s\n", i+1, s.name, s.title)
	}
}

// ParseSteps turns "join,8,leave" into step indexes (all if empty), in
// the walk-through's order, each once.
func ParseSteps(spec string) ([]int, error) {
	all := demoSteps()
	want := make([]bool, len(all))
	for _, f := range strings.Split(spec, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		i, ok := demoStepIndex(all, f)
		if !ok {
			return nil, fmt.Errorf("%w: unknown step %q (run `placer demo -h` for the list)", ErrOptions, f)
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
		return nil, fmt.Errorf("%w: --step names no step", ErrOptions)
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

// Validate checks o and fills PortMax from PortMin.
func (o *Options) Validate() error {
	switch {
	case o.Nodes < 3 || o.Nodes > 9:
		return fmt.Errorf("%w: --nodes must be 3..9", ErrOptions)
	case o.Keys < 10 || o.Keys > 100_000:
		return fmt.Errorf("%w: --keys must be 10..100000", ErrOptions)
	case o.Names < 100 || o.Names > 10_000_000:
		return fmt.Errorf("%w: --names must be 100..10000000", ErrOptions)
	case o.Quiet && o.JSON:
		return fmt.Errorf("%w: --quiet and --json exclude each other", ErrOptions)
	case o.Timeout < time.Second:
		return fmt.Errorf("%w: --timeout must be at least 1s", ErrOptions)
	}
	if o.PortMin != 0 && o.PortMax == 0 {
		o.PortMax = min(o.PortMin+9, 65535)
	}
	if o.PortMin < 0 || o.PortMax > 65535 || (o.PortMin == 0) != (o.PortMax == 0) || o.PortMax < o.PortMin {
		return fmt.Errorf("%w: --port-min/--port-max need 1 <= min <= max <= 65535", ErrOptions)
	}
	if o.LogLevel != "" {
		if _, err := zerolog.ParseLevel(o.LogLevel); err != nil {
			return fmt.Errorf("%w: --log %q: %v", ErrOptions, o.LogLevel, err)
		}
	}
	return nil
}

// Run runs the selected steps on a fresh cluster and prints the narration
// (unless Quiet or JSON) and the summary. It always closes every node it
// started before returning. o must have passed Validate.
func Run(ctx context.Context, o Options, stdout, stderr io.Writer) error {
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
	for _, i := range d.o.Steps {
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
