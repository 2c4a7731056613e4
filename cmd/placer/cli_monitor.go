package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/placement"
)

func init() {
	register(&command{name: "monitor", summary: "stream nodeup/nodedown and view changes until interrupted (like net_kernel:monitor_nodes)", run: runMonitor})
}

// monitorConnectTimeout bounds connecting and subscribing.
const monitorConnectTimeout = 5 * time.Second

func runMonitor(args []string, stdout, stderr io.Writer) error {
	var o cliOptions
	fs := cliFlags("monitor", stderr, &o)
	o.timeout = 0
	fs.Lookup("timeout").DefValue = "0s"
	fs.Lookup("timeout").Usage = "stop after this long (0: until interrupted)"
	count := fs.Int("count", 0, "stop after N cluster events (nodeup, nodedown, update, view; 0: no limit)")
	pidText := fs.String("pid", "", "monitor one process instead (<node.id.creation>): print its DOWN reason when it exits")
	_, err := parseCLI(fs, args, stderr, cliSpec{"monitor [--count N] [--timeout D] [--json] | monitor --pid PID [flags]",
		"Streams the cluster's membership (nodeup, nodedown, update) and view changes as the agent sees them,\n" +
			"following another agent if it goes away. --json prints one JSON object per line.\n" +
			"With --pid: waits for that process's DOWN (normal, killed, noproc, noconnection, ...) and prints it.", "placer monitor [flags]", 0, 0, nil})
	if err != nil {
		return err
	}
	if *pidText != "" {
		return monitorPID(*pidText, o, stdout)
	}
	if *count < 0 || o.timeout < 0 {
		return fmt.Errorf("%w: --count and --timeout must not be negative", errUsage)
	}
	cl, ctx, done, err := monitorSession(o)
	if err != nil {
		return err
	}
	defer done()
	sctx, cancel := context.WithTimeout(ctx, monitorConnectTimeout)
	defer cancel()
	if _, err := cl.Connect(sctx); err != nil {
		return err
	}
	events, err := cl.Watch(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	return printEvents(events, *count, o.json, stdout)
}

// monitorSession opens a monitor command's client, whose connecting is
// bounded by monitorConnectTimeout, and the command's context, bounded by
// --timeout (none if 0); done ends both.
func monitorSession(o cliOptions) (*placement.Client, context.Context, func(), error) {
	total := o.timeout
	o.timeout = monitorConnectTimeout
	cl, err := o.client()
	if err != nil {
		return nil, nil, nil, err
	}
	ctx, stop := monitorContext(total)
	return cl, ctx, func() { stop(); _ = cl.Close() }, nil
}

// printEvents prints events until the channel closes or count cluster
// events were printed.
func printEvents(events <-chan placement.WatchEvent, count int, asJSON bool, w io.Writer) error {
	enc := json.NewEncoder(w)
	seen := 0
	for ev := range events {
		var err error
		if asJSON {
			err = enc.Encode(ev)
		} else {
			_, err = fmt.Fprintln(w, ev)
		}
		if err != nil {
			return err
		}
		if ev.Type != placement.WatchAgent && ev.Type != placement.WatchAgentDown {
			if seen++; count > 0 && seen >= count {
				return nil
			}
		}
	}
	return nil
}

// monitorPID waits for the DOWN of one process (until --timeout, if set).
func monitorPID(text string, o cliOptions, w io.Writer) error {
	pid, err := node.ParsePID(text)
	if err != nil {
		return fmt.Errorf("%w: --pid: %w", errUsage, err)
	}
	cl, ctx, done, err := monitorSession(o)
	if err != nil {
		return err
	}
	defer done()
	reason, err := cl.MonitorProcess(ctx, pid)
	if err != nil {
		return err
	}
	return o.output(w, map[string]any{"type": "down", "pid": pid, "reason": reason.String()}, func() {
		fmt.Fprintf(w, "%s DOWN %s: %s\n", time.Now().Format("15:04:05.000"), pid, reason)
	})
}

// monitorContext ends at Ctrl-C, SIGTERM or after total (0: never).
func monitorContext(total time.Duration) (context.Context, context.CancelFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	if total <= 0 {
		return ctx, stop
	}
	ctx, cancel := context.WithTimeout(ctx, total)
	return ctx, func() { cancel(); stop() }
}
