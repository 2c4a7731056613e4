package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"

	"github.com/placerhq/placer/internal/demo"
)

// `placer demo` is package internal/demo; this file holds its flags.

func init() {
	register(&command{
		name:    "demo",
		summary: "start a local cluster on loopback and walk through the Erlang distribution tour",
		run:     runDemoCommand,
	})
}

func runDemoCommand(args []string, stdout, stderr io.Writer) error {
	o, err := parseDemoFlags(args, stderr)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	return demo.Run(ctx, o, stdout, stderr)
}

func parseDemoFlags(args []string, stderr io.Writer) (demo.Options, error) {
	o := demo.DefaultOptions()
	fs := newFlagSet("demo", stderr)
	fs.IntVar(&o.Nodes, "nodes", o.Nodes, "cluster size at start (3..9)")
	fs.IntVar(&o.Keys, "keys", o.Keys, "todo lists (keyed processes) to create, move and check (10..100000)")
	fs.IntVar(&o.Names, "names", o.Names, "list names for the modulo-vs-ring churn comparison (100..10000000)")
	step := fs.String("step", "", "run only these steps: names or numbers, comma-separated (see below)")
	fs.IntVar(&o.PortMin, "port-min", 0, "lowest transport port for the ports step (0: pick a free range)")
	fs.IntVar(&o.PortMax, "port-max", 0, "highest transport port for the ports step (default port-min+9)")
	fs.BoolVar(&o.Quiet, "quiet", false, "print only the summary of measured figures")
	fs.BoolVar(&o.JSON, "json", false, "print only the measured figures, as one JSON object")
	fs.DurationVar(&o.Timeout, "timeout", o.Timeout, "give up (and fail the step) if the cluster has not reached a state after this long")
	fs.StringVar(&o.LogLevel, "log", "", "print placer's own logs to stderr at this level (debug, info, warn, error)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: placer demo [--nodes 3] [--keys 1000] [--step NAME,...] [--quiet | --json]")
		fmt.Fprintln(stderr, "Starts a placer cluster in this process (TCP on 127.0.0.1, Serf local profile,")
		fmt.Fprintln(stderr, "a random cookie held in memory) and walks through the Erlang distribution tour.")
		fs.PrintDefaults()
		demo.StepsUsage(stderr)
	}
	if err := parseFlags(fs, args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	}
	var err error
	if o.Steps, err = demo.ParseSteps(*step); err == nil {
		err = o.Validate()
	}
	if err != nil {
		return o, fmt.Errorf("%w: %w", errUsage, err)
	}
	return o, nil
}
