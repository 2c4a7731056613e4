package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/placerhq/placer/placement"

	"github.com/placerhq/placer/placement/agent/names"
)

func init() {
	register(&command{name: "members", summary: "list the cluster members as an agent sees them (and its hidden peers)", run: runMembers})
	register(&command{name: "names", summary: "list the agents running on this host (the names dir, like epmd -names)", run: runNames})
	register(&command{name: "lookup", summary: "show which node owns a key (and its next owners)", run: runLookup})
	register(&command{name: "send", summary: "send a message to the keyed process {KIND, KEY}", run: runSend})
	register(&command{name: "call", summary: "call the keyed process {KIND, KEY} and print its reply", run: runCall})
	register(&command{name: "rpc", summary: "run an rpc function on a cluster node (e.g. abs -1, node.info)", run: runRPC})
}

// cliSpec is a CLI command's usage: its synopsis and description for
// -h, the short form for errors, and how many positional arguments it
// takes.
type cliSpec struct {
	line, about, short string
	minArgs, maxArgs   int
}

// parseCLI sets fs's usage from spec, parses args (flags may follow the
// positional arguments) and checks their number.
func parseCLI(fs *flag.FlagSet, args []string, stderr io.Writer, spec cliSpec) ([]string, error) {
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: placer "+spec.line)
		fmt.Fprintln(stderr, spec.about)
		fs.PrintDefaults()
	}
	pos, err := parseInterleaved(fs, args)
	if err == nil && (len(pos) < spec.minArgs || len(pos) > spec.maxArgs) {
		err = fmt.Errorf("%w: usage: %s", errUsage, spec.short)
	}
	return pos, err
}

func runMembers(args []string, stdout, stderr io.Writer) error {
	var o cliOptions
	fs := cliFlags("members", stderr, &o)
	_, err := parseCLI(fs, args, stderr, cliSpec{"members [--node NAME | --addr NAME@HOST:PORT] [--json]",
		"Lists every placer member the agent's gossip knows (any status), whether it owns keys, and the hidden nodes connected to the agent.", "placer members [flags]", 0, 0})
	if err != nil {
		return err
	}
	return o.withClient(func(ctx context.Context, cl *placement.Client) error {
		ms, err := cl.Members(ctx)
		if err != nil {
			return err
		}
		if o.json {
			return printJSON(stdout, ms)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tSTATUS\tRING\tWEIGHT\tTRANSPORT\tGOSSIP")
		for _, m := range ms.Members {
			ringText := "no"
			switch {
			case m.Ring:
				ringText = "yes"
			case m.Draining:
				ringText = "draining"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", m.Name, m.Status, ringText, m.Weight, m.TransportAddr, m.GossipAddr)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "hidden: %s\n(as seen by %s)\n", joinOrNone(ms.Hidden), ms.Node)
		return nil
	})
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
		"Lists the agents running on this host, from the names dir (stale records of dead agents are removed). Needs no cookie.", "placer names [flags]", 0, 0})
	if err != nil {
		return err
	}
	dir := names.Dir(*dirFlag)
	recs, err := names.List(dir)
	if err != nil {
		return err
	}
	if *asJSON {
		if recs == nil {
			recs = []names.Record{}
		}
		return printJSON(stdout, recs)
	}
	if len(recs) == 0 {
		fmt.Fprintf(stdout, "no agents in %s\n", dir)
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tPID\tTRANSPORT\tGOSSIP\tHTTP\tROLE")
	for _, r := range recs {
		role := "member"
		if r.Hidden {
			role = "hidden"
		}
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
	var o cliOptions
	fs := cliFlags("lookup", stderr, &o)
	n := fs.Int("n", 1, fmt.Sprintf("also list the next owners: up to N distinct nodes, owner first (1..%d)", placement.MaxLookupN))
	pos, err := parseCLI(fs, args, stderr, cliSpec{"lookup KEY [--n N] [flags]",
		"Shows the owner of KEY in the agent's ownership view (a pure lookup: it starts nothing).", "placer lookup KEY [--n N]", 1, 1})
	if err != nil {
		return err
	}
	if *n < 1 || *n > placement.MaxLookupN {
		return fmt.Errorf("%w: --n %d not in 1..%d", errUsage, *n, placement.MaxLookupN)
	}
	return o.withClient(func(ctx context.Context, cl *placement.Client) error {
		lk, err := cl.Lookup(ctx, pos[0], *n)
		if err != nil {
			return err
		}
		if o.json {
			return printJSON(stdout, lk)
		}
		fmt.Fprintf(stdout, "%s -> %s\n", lk.Key, lk.Owner)
		if len(lk.Owners) > 1 {
			fmt.Fprintf(stdout, "owners: %s\n", strings.Join(lk.Owners, ", "))
		}
		fmt.Fprintf(stdout, "(view epoch %d, checksum %016x, as seen by %s)\n", lk.Epoch, lk.Checksum, lk.Node)
		return nil
	})
}

func runSend(args []string, stdout, stderr io.Writer) error {
	var o cliOptions
	fs := cliFlags("send", stderr, &o)
	pos, err := parseCLI(fs, args, stderr, cliSpec{"send KIND KEY [MSG] [flags]",
		"Sends MSG (bytes as given; default empty) to the keyed process {KIND, KEY}, started on the key's owner if needed.\n" +
			"Built-in kinds: counter (MSG: an integer to add; empty adds 1), kv (MSG: \"set K V\" or \"del K\").", "placer send KIND KEY [MSG]", 2, 3})
	if err != nil {
		return err
	}
	msg := ""
	if len(pos) == 3 {
		msg = pos[2]
	}
	return o.withClient(func(ctx context.Context, cl *placement.Client) error {
		if err := cl.Send(ctx, pos[0], pos[1], []byte(msg)); err != nil {
			return err
		}
		if o.json {
			return printJSON(stdout, map[string]any{"ok": true, "kind": pos[0], "key": pos[1], "agent": cl.Agent()})
		}
		fmt.Fprintln(stdout, "ok")
		return nil
	})
}

func runCall(args []string, stdout, stderr io.Writer) error {
	var o cliOptions
	fs := cliFlags("call", stderr, &o)
	pos, err := parseCLI(fs, args, stderr, cliSpec{"call KIND KEY [REQ] [flags]",
		"Calls the keyed process {KIND, KEY} with REQ (default empty) and prints its reply.\n" +
			"Built-in kinds: counter (REQ: get, reset, or an integer to add), kv (REQ: get K, set K V, del K, keys, all).", "placer call KIND KEY [REQ]", 2, 3})
	if err != nil {
		return err
	}
	req := ""
	if len(pos) == 3 {
		req = pos[2]
	}
	return o.withClient(func(ctx context.Context, cl *placement.Client) error {
		out, err := cl.Call(ctx, pos[0], pos[1], []byte(req))
		if err != nil {
			return err
		}
		if o.json {
			return printJSON(stdout, map[string]any{"kind": pos[0], "key": pos[1], "reply": rawOrString(out)})
		}
		fmt.Fprintln(stdout, string(out))
		return nil
	})
}

// rawOrString embeds b in JSON as is if it is valid JSON, else as a string.
func rawOrString(b []byte) any {
	if json.Valid(b) {
		return json.RawMessage(b)
	}
	return string(b)
}

func runRPC(args []string, stdout, stderr io.Writer) error {
	var o cliOptions
	fs := cliFlags("rpc", stderr, &o)
	pos, err := parseCLI(fs, args, stderr, cliSpec{"rpc NODE FN [ARGS] [flags]",
		"Runs rpc function FN on cluster node NODE (through the agent) and prints its result (JSON).\n" +
			"ARGS is JSON (a bare word is sent as a JSON string). Built-ins: abs N, node.info, processes, registered, placer.members, placer.stats ...", "placer rpc NODE FN [ARGS]", 2, 3})
	if err != nil {
		return err
	}
	var rpcArgs []byte
	if len(pos) == 3 {
		if rpcArgs = []byte(pos[2]); !json.Valid(rpcArgs) {
			rpcArgs, _ = json.Marshal(pos[2])
		}
	}
	return o.withClient(func(ctx context.Context, cl *placement.Client) error {
		out, err := cl.RPC(ctx, pos[0], pos[1], rpcArgs)
		if err != nil {
			return err
		}
		if o.json {
			return printJSON(stdout, map[string]any{"node": pos[0], "fn": pos[1], "result": rawOrString(out)})
		}
		fmt.Fprintln(stdout, string(out))
		return nil
	})
}
