package faults

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/placerhq/placer/internal/faults/load"
	"github.com/placerhq/placer/internal/faults/netns"
)

// Main is Command with the process's stdin: `placer bench faults`.
func Main(args []string, stdout, stderr io.Writer) error {
	return Command(args, os.Stdin, stdout, stderr)
}

// Command is `placer bench faults`: flags to Options, Run, the report on
// stdout. `placer bench faults worker ...` is the load generator the
// harness starts in each namespace (package load). Errors wrapping
// ErrUsage are bad usage; ErrBounds means the run finished with failed
// bounds.
func Command(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "worker" {
		err := load.Main(args[1:], stdin, stdout, stderr)
		if errors.Is(err, load.ErrConfig) {
			return fmt.Errorf("%w: %w", ErrUsage, err)
		}
		return err
	}
	opts, asJSON, cleanup, err := parseFlags(args, stderr)
	if err != nil || cleanup {
		return errors.Join(err, cleanupOnly(cleanup, stdout))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rep, err := Run(ctx, opts)
	if rep != nil {
		werr := writeReport(rep, asJSON, stdout)
		fmt.Fprintf(stderr, "placer bench faults: histories, logs, report.md and report.json in %s\n", opts.Dir)
		err = errors.Join(err, werr)
	}
	return err
}

func writeReport(rep *Report, asJSON bool, w io.Writer) error {
	if !asJSON {
		return rep.Markdown(w)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// cleanupOnly removes the namespaces of dead runs (--cleanup).
func cleanupOnly(cleanup bool, stdout io.Writer) error {
	if !cleanup {
		return nil
	}
	stale, err := netns.CleanupStale(context.Background())
	fmt.Fprintf(stdout, "removed %d stale namespaces %s\n", len(stale), strings.Join(stale, " "))
	return err
}

// cliFlags are the command's flags that are not Options fields.
type cliFlags struct {
	scenario, known *string
	asJSON, cleanup *bool
}

// defineFlags defines the command's flags on fs, into o and the result.
func defineFlags(fs *flag.FlagSet, o *Options) cliFlags {
	c := cliFlags{
		scenario: fs.String("scenario", "all", "comma-separated scenarios: "+strings.Join(scenarioNames(), ", ")+"; all = every one"),
		asJSON:   fs.Bool("json", false, "print the report as JSON instead of markdown"),
		cleanup:  fs.Bool("cleanup", false, "only remove the namespaces a killed run left behind, and exit"),
		known:    fs.String("known", "", "file of known failures (\"scenario | bound | why\" a line): reported, but the exit status is 1 only for the others"),
	}
	fs.BoolVar(&o.Full, "full", false, "the issue's durations: a 30 s split, 10 s holds (default 10 s and 5 s)")
	fs.StringVar(&o.Dir, "out", "", "directory for the histories, logs, report.md and report.json (default: a new one under $TMPDIR)")
	fs.IntVar(&o.Replicas, "replicas", o.Replicas, "R to ask the agents for (--replicas, issue 11); recorded as unsupported if they lack the flag")
	fs.StringVar(&o.Profile, "profile", o.Profile, "the agents' gossip profile: local or lan")
	fs.IntVar(&o.Keys, "keys", o.Keys, "keys of the load (each a kv and a counter process)")
	fs.DurationVar(&o.Period, "period", o.Period, "pause between two rounds of a load stream (5 nodes x keys streams)")
	fs.DurationVar(&o.OpTimeout, "op-timeout", o.OpTimeout, "bound of each load operation")
	fs.StringVar(&o.Placer, "placer", "", "the placer binary to test (default: this one)")
	return c
}

// parseFlags turns the command line into Options; it also returns
// --json and --cleanup.
func parseFlags(args []string, stderr io.Writer) (Options, bool, bool, error) {
	o := DefaultOptions()
	fs := flag.NewFlagSet("placer bench faults", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := defineFlags(fs, &o)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: placer bench faults [--scenario all|NAME,...] [--full] [--json] [--out DIR] [--replicas 2] [--known FILE] [--cleanup]")
		fmt.Fprintln(stderr, "Runs real placer agents in 5 network namespaces under load, injects faults, checks the histories. Needs root, ip and iptables.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, false, false, err
		}
		return o, false, false, fmt.Errorf("%w: %v", ErrUsage, err)
	}
	if fs.NArg() > 0 {
		return o, false, false, fmt.Errorf("%w: unexpected arguments %q", ErrUsage, fs.Args())
	}
	o.Progress = func(s string) { fmt.Fprintln(stderr, "placer bench faults:", s) }
	if *c.cleanup {
		return o, false, true, nil
	}
	return o, *c.asJSON, false, finishOptions(&o, *c.scenario, *c.known)
}

// finishOptions applies --scenario and --known, and the defaults of the
// binary and the output directory.
func finishOptions(o *Options, scenario, known string) error {
	if scenario != "all" && scenario != "" {
		o.Scenarios = strings.Split(scenario, ",")
	}
	if known != "" {
		var err error
		if o.Known, err = ReadKnown(known); err != nil {
			return err
		}
	}
	return fillDefaults(o)
}

// fillDefaults sets the binary (this one) and the output directory.
func fillDefaults(o *Options) error {
	var err error
	if o.Placer == "" {
		if o.Placer, err = os.Executable(); err != nil {
			return fmt.Errorf("%w: %v", ErrSetup, err)
		}
	}
	if o.Dir == "" {
		o.Dir, err = os.MkdirTemp("", "placer-faults-"+time.Now().Format("20060102-150405")+"-")
	}
	return err
}

func scenarioNames() []string {
	var out []string
	for _, sc := range Scenarios() {
		out = append(out, sc.Name)
	}
	return out
}
