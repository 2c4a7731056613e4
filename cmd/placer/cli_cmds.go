package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/placerhq/placer/placement"
	"github.com/placerhq/placer/placement/agent/names"
)

func init() {
	register(&command{name: "members", summary: "list the cluster members as an agent sees them (and its hidden peers)", run: runMembers})
	register(&command{name: "names", summary: "list the agents running on this host (the names dir, like epmd -names)", run: runNames})
	register(&command{name: "lookup", summary: "show which node owns a key (and its next owners)", run: runLookup})
	register(&command{name: "send", summary: "send a message to the keyed process {KIND, KEY}, or to NAME@NODE", run: runSend})
	register(&command{name: "call", summary: "call the keyed process {KIND, KEY} and print its reply", run: runCall})
}

func runMembers(args []string, stdout, stderr io.Writer) error {
	return clientCommand("members", args, stderr, cliSpec{"members [--node NAME | --addr NAME@HOST:PORT] [--json]",
		"Lists every placer member the agent's gossip knows (any status), whether it owns keys, its primaries and backup copies, and the hidden nodes connected to the agent.", "placer members [flags]", 0, 0, nil}, nil,
		func(ctx context.Context, cl *placement.Client, o *cliOptions, _ []string) error {
			ms, err := cl.MembersWithLoad(ctx)
			if err != nil {
				return err
			}
			return o.output(stdout, ms, func() { printMembers(stdout, ms) })
		})
}

func printMembers(w io.Writer, ms placement.Members) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSTATUS\tRING\tWEIGHT\tPRIMARIES\tBACKUPS\tTRANSPORT\tGOSSIP")
	count := func(n *int) string {
		if n == nil {
			return "-"
		}
		return strconv.Itoa(*n)
	}
	for _, m := range ms.Members {
		ringText := map[bool]string{true: "yes", false: "no"}[m.Ring]
		if !m.Ring && m.Draining {
			ringText = "draining"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", m.Name, m.Status, ringText, m.Weight, count(m.Primaries), count(m.Backups), m.TransportAddr, m.GossipAddr)
	}
	_ = tw.Flush()
	fmt.Fprintf(w, "hidden: %s\n(as seen by %s)\n", joinOrNone(ms.Hidden), ms.Node)
	if ms.Alone {
		fmt.Fprintf(w, "WARNING: %s is ALONE: before its restart it had peers (%s) and it reaches none of them; it serves every key by itself\n",
			ms.Node, strings.Join(ms.PreviousPeers, ", "))
	}
}

func joinOrNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

func runNames(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("names", stderr)
	dirFlag := fs.String("names-dir", "", "names directory (default $PLACER_NAMES_DIR, $XDG_RUNTIME_DIR/placer or /tmp/placer-$UID)")
	asJSON := fs.Bool("json", false, "print JSON instead of text")
	_, err := parseCLI(fs, args, stderr, cliSpec{"names [--names-dir DIR] [--json]",
		"Lists the agents running on this host, from the names dir (stale records of dead agents are removed). Needs no cookie.", "placer names [flags]", 0, 0, nil})
	if err != nil {
		return err
	}
	dir := names.Dir(*dirFlag)
	recs, err := names.List(dir)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(stdout, append([]names.Record{}, recs...))
	}
	if len(recs) == 0 {
		fmt.Fprintf(stdout, "no agents in %s\n", dir)
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tPID\tTRANSPORT\tGOSSIP\tHTTP\tROLE")
	for _, r := range recs {
		role := map[bool]string{true: "hidden", false: "member"}[r.Hidden]
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\n", r.Name, r.PID, dash(r.Transport), dash(r.Gossip), dash(r.HTTP), role)
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func runLookup(args []string, stdout, stderr io.Writer) error {
	var n int
	var state bool
	return clientCommand("lookup", args, stderr, cliSpec{"lookup KEY [--n N] [--state] [flags]",
		"Shows the owner of KEY in the agent's ownership view (a pure lookup: it starts nothing).", "placer lookup KEY [--n N]", 1, 1,
		func([]string) error {
			if n < 1 || n > placement.MaxLookupN {
				return fmt.Errorf("%w: --n %d not in 1..%d", errUsage, n, placement.MaxLookupN)
			}
			return nil
		}},
		func(fs *flag.FlagSet) {
			fs.IntVar(&n, "n", 1, fmt.Sprintf("also list the next owners: up to N distinct nodes, owner first (1..%d)", placement.MaxLookupN))
			fs.BoolVar(&state, "state", false, "also show the key's processes on its owner")
		},
		func(ctx context.Context, cl *placement.Client, o *cliOptions, pos []string) error {
			lookup := cl.Lookup
			if state {
				lookup = cl.LookupState
			}
			lk, err := lookup(ctx, pos[0], n)
			if err != nil {
				return err
			}
			return o.output(stdout, lk, func() { printLookup(stdout, lk) })
		})
}

func printLookup(w io.Writer, lk placement.Lookup) {
	fmt.Fprintf(w, "%s -> %s\n", lk.Key, lk.Owner)
	if len(lk.Owners) > 1 {
		fmt.Fprintf(w, "owners: %s\n", strings.Join(lk.Owners, ", "))
	}
	for _, p := range lk.Processes {
		fmt.Fprintf(w, "process: %s %s %s\n", p.Kind, p.PID, p.State)
	}
	fmt.Fprintf(w, "(view epoch %d, checksum %s, as seen by %s)\n", lk.Epoch, lk.Checksum, lk.Node)
}

func runSend(args []string, stdout, stderr io.Writer) error {
	return clientCommand("send", args, stderr, cliSpec{"send KIND KEY [MSG...] | send NAME@NODE MSG... [flags]",
		"Sends MSG (the remaining words; default empty) to the keyed process {KIND, KEY}, started on the key's owner if needed,\n" +
			"or, when the first argument is NAME@NODE, to the process or service registered as NAME on cluster node NODE.\n" +
			"Built-in kinds: counter (MSG: an integer to add; empty adds 1), kv (MSG: set K V, del K). A message the owner\n" +
			"would drop (an unknown kind, a name not registered, a counter sent \"abc\") fails (exit 1).", "placer send KIND KEY [MSG...]", 1, -1,
		func(pos []string) error {
			if _, _, ok := nodeTarget(pos[0]); !ok && len(pos) < 2 {
				return fmt.Errorf("%w: usage: placer send KIND KEY [MSG...] (or placer send NAME@NODE MSG...)", errUsage)
			}
			return nil
		}}, nil,
		func(ctx context.Context, cl *placement.Client, o *cliOptions, pos []string) error {
			var err error
			out := map[string]any{"ok": true, "agent": cl.Agent()}
			if name, target, ok := nodeTarget(pos[0]); ok {
				err = cl.NodeSend(ctx, target, name, []byte(words(pos, 1)))
				out["name"], out["node"] = name, target
			} else {
				err = cl.Send(ctx, pos[0], pos[1], []byte(words(pos, 2)))
				out["kind"], out["key"] = pos[0], pos[1]
			}
			if err != nil {
				return err
			}
			return o.output(stdout, out, func() { fmt.Fprintln(stdout, "ok") })
		})
}

func runCall(args []string, stdout, stderr io.Writer) error {
	return clientCommand("call", args, stderr, cliSpec{"call KIND KEY [REQ...] [flags]",
		"Calls the keyed process {KIND, KEY} with REQ (the remaining words; default empty) and prints its reply.\n" +
			"Built-in kinds: counter (REQ: get, reset, or an integer to add), kv (REQ: get K, set K V, del K, keys, all):\n" +
			"  placer call kv sess-1 set name alice", "placer call KIND KEY [REQ...]", 2, -1, nil}, nil,
		func(ctx context.Context, cl *placement.Client, o *cliOptions, pos []string) error {
			out, err := cl.Call(ctx, pos[0], pos[1], []byte(words(pos, 2)))
			if err != nil {
				return err
			}
			return o.output(stdout, map[string]any{"kind": pos[0], "key": pos[1], "reply": rawOrString(out)},
				func() { fmt.Fprintln(stdout, string(out)) })
		})
}
