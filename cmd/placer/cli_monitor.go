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
	_, err := parseCLI(fs, args, stderr, cliSpec{"monitor [--count N] [--timeout D] [--json] [flags]",
		"Streams the cluster's membership (nodeup, nodedown, update) and view changes as the agent sees them,\n" +
			"following another agent if it goes away. --json prints one JSON object per line.", "placer monitor [flags]", 0, 0})
	if err != nil {
		return err
	}
	if *count < 0 || o.timeout < 0 {
		return fmt.Errorf("%w: --count and --timeout must not be negative", errUsage)
	}
	total := o.timeout
	o.timeout = monitorConnectTimeout
	cl, err := o.client()
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if total > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, total)
		defer cancel()
	}
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
			_, err = fmt.Fprintln(w, formatEvent(ev))
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

// formatEvent renders one event as a line of text.
func formatEvent(ev placement.WatchEvent) string {
	ts := ev.Time.Local().Format("15:04:05.000")
	switch ev.Type {
	case placement.WatchView:
		return fmt.Sprintf("%s %-10s epoch %d, %d members, checksum %016x%s  [%s]", ts, ev.Type, ev.Epoch, ev.Members,
			ev.Checksum, drainingText(ev.Draining), ev.Agent)
	case placement.WatchAgent:
		return fmt.Sprintf("%s %-10s watching the cluster through %s", ts, ev.Type, ev.Node)
	case placement.WatchAgentDown:
		return fmt.Sprintf("%s %-10s lost %s (%s); looking for another agent", ts, ev.Type, ev.Node, ev.Reason)
	}
	reason := ""
	if ev.Reason != "" {
		reason = " (" + ev.Reason + ")"
	}
	return fmt.Sprintf("%s %-10s %s%s  [%s]", ts, ev.Type, ev.Node, reason, ev.Agent)
}

func drainingText(d []string) string {
	if len(d) == 0 {
		return ""
	}
	return fmt.Sprintf(", draining %v", d)
}
