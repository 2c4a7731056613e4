package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/placerhq/placer/placement"
)

// Node-level and operator commands: each is one placement.Client call.
func init() {
	register(&command{name: "rpc", summary: "run an rpc function on a node, or --all nodes (:rpc.multicall); --list NODE lists them", run: runRPC})
	register(&command{name: "abcast", summary: "send a message to the process registered as NAME on every member", run: runAbcast})
	register(&command{name: "multicall", summary: "call the process registered as NAME on every member and print each reply", run: runMultiCall})
	register(&command{name: "spawn", summary: "start a process of a registered kind on a node (Node.spawn) and print its PID", run: runSpawn})
	register(&command{name: "force-leave", summary: "mark a failed member as left on every member (it leaves the quorum's full membership)", run: runForceLeave})
	register(&command{name: "quorum status", summary: "show every member's quorum state (quorum mode)", run: runQuorumStatus})
	register(&command{name: "quorum reset", summary: "make the members alive now the quorum's full membership, on every member", run: runQuorumReset})
}

func runRPC(args []string, stdout, stderr io.Writer) error {
	var all, list bool
	return clientCommand("rpc", args, stderr, cliSpec{"rpc NODE FN [ARGS...] | rpc --all FN [ARGS...] | rpc --list NODE [flags]",
		"Runs rpc function FN on cluster node NODE (through the agent) and prints its result (JSON); --all runs it on every member.\n" +
			"ARGS is JSON (other words are sent as one JSON string). Built-ins: abs N, node.info, processes, registered, rpc.list, placer.stats ...",
		"placer rpc NODE FN [ARGS...]", 1, -1,
		func(pos []string) error {
			if !all && !list && len(pos) < 2 {
				return fmt.Errorf("%w: usage: placer rpc NODE FN [ARGS...]", errUsage)
			}
			return nil
		}},
		func(fs *flag.FlagSet) {
			fs.BoolVar(&all, "all", false, "run FN on every alive member (:rpc.multicall)")
			fs.BoolVar(&list, "list", false, "list NODE's rpc functions with their argument and result shapes")
		},
		func(ctx context.Context, cl *placement.Client, o *cliOptions, pos []string) error {
			switch {
			case list:
				infos, err := cl.RPCList(ctx, pos[0])
				if err != nil {
					return err
				}
				return o.output(stdout, infos, func() {
					tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
					fmt.Fprintln(tw, "FUNCTION\tARGS\tRESULT")
					for _, i := range infos {
						fmt.Fprintf(tw, "%s\t%s\t%s\n", i.Name, i.Args, i.Result)
					}
					_ = tw.Flush()
				})
			case all:
				rs, err := cl.RPCAll(ctx, pos[0], jsonArgs(pos, 1))
				return printResults(stdout, o, rs, err)
			}
			out, err := cl.RPC(ctx, pos[0], pos[1], jsonArgs(pos, 2))
			if err != nil {
				return err
			}
			return o.output(stdout, map[string]any{"node": pos[0], "fn": pos[1], "result": rawOrString(out)},
				func() { fmt.Fprintln(stdout, string(out)) })
		})
}

// printResults prints one result per member; an error if any failed.
func printResults(w io.Writer, o *cliOptions, rs []placement.NodeResult, err error) error {
	if err != nil {
		return err
	}
	failed := 0
	out := make([]map[string]any, len(rs))
	for i, r := range rs {
		out[i] = map[string]any{"node": r.Node}
		if r.Error != "" {
			failed++
			out[i]["error"] = r.Error
		} else {
			out[i]["result"] = rawOrString(r.Result)
		}
	}
	perr := o.output(w, out, func() {
		for _, r := range rs {
			if r.Error != "" {
				fmt.Fprintf(w, "%s: error: %s\n", r.Node, r.Error)
			} else {
				fmt.Fprintf(w, "%s: %s\n", r.Node, r.Result)
			}
		}
	})
	if failed > 0 {
		return fmt.Errorf("%d of %d members failed", failed, len(rs))
	}
	return perr
}

func runAbcast(args []string, stdout, stderr io.Writer) error {
	return clientCommand("abcast", args, stderr, cliSpec{"abcast NAME MSG... [flags]",
		"Sends MSG to the process or service registered as NAME on every alive member (GenServer.abcast); prints the members.",
		"placer abcast NAME MSG...", 1, -1, nil}, nil,
		func(ctx context.Context, cl *placement.Client, o *cliOptions, pos []string) error {
			nodes, err := cl.Abcast(ctx, pos[0], []byte(words(pos, 1)))
			if err != nil {
				return err
			}
			return o.output(stdout, map[string]any{"name": pos[0], "nodes": nodes}, func() {
				fmt.Fprintf(stdout, "sent to %s on %s\n", pos[0], joinOrNone(nodes))
			})
		})
}

func runMultiCall(args []string, stdout, stderr io.Writer) error {
	return clientCommand("multicall", args, stderr, cliSpec{"multicall NAME REQ... [flags]",
		"Calls the process or service registered as NAME on every alive member (GenServer.multi_call) and prints each reply;\n" +
			"exit 1 if a member failed.", "placer multicall NAME REQ...", 1, -1, nil}, nil,
		func(ctx context.Context, cl *placement.Client, o *cliOptions, pos []string) error {
			rs, err := cl.MultiCall(ctx, pos[0], []byte(words(pos, 1)))
			return printResults(stdout, o, rs, err)
		})
}

func runSpawn(args []string, stdout, stderr io.Writer) error {
	return clientCommand("spawn", args, stderr, cliSpec{"spawn NODE KIND [ARGS...] [flags]",
		"Starts a process of kind KIND (a kind registered on NODE: echo, printer, counter, kv, ...) on cluster node NODE\n" +
			"with ARGS (the remaining words) and prints its PID; `placer monitor --pid PID` then waits for its exit.",
		"placer spawn NODE KIND [ARGS...]", 2, -1, nil}, nil,
		func(ctx context.Context, cl *placement.Client, o *cliOptions, pos []string) error {
			pid, err := cl.Spawn(ctx, pos[0], pos[1], []byte(words(pos, 2)))
			if err != nil {
				return err
			}
			return o.output(stdout, map[string]any{"pid": pid, "text": pid.String()}, func() { fmt.Fprintln(stdout, pid) })
		})
}

func runForceLeave(args []string, stdout, stderr io.Writer) error {
	var yes bool
	return clientCommand("force-leave", args, stderr, cliSpec{"force-leave NODE --yes [flags]",
		"Marks the failed member NODE as left on every alive member (each logs it): Serf stops reconnecting to it and it leaves\n" +
			"the quorum's last full membership. For a node gone for good; it must be failed (a live node is refused).",
		"placer force-leave NODE --yes", 1, 1, confirm(&yes, "force-leave ARG removes it from the cluster for good")},
		func(fs *flag.FlagSet) { fs.BoolVar(&yes, "yes", false, "confirm: NODE is gone for good") },
		func(ctx context.Context, cl *placement.Client, o *cliOptions, pos []string) error {
			rs, err := cl.ForceLeave(ctx, pos[0])
			return printResults(stdout, o, rs, err)
		})
}

func runQuorumStatus(args []string, stdout, stderr io.Writer) error {
	return clientCommand("quorum status", args, stderr, cliSpec{"quorum status [flags]",
		"Shows every alive member's quorum state: mode on or off, serving or not, the last full membership and how much of it is alive.",
		"placer quorum status", 0, 0, nil}, nil,
		func(ctx context.Context, cl *placement.Client, o *cliOptions, _ []string) error {
			qs, err := cl.Quorum(ctx)
			return printQuorum(stdout, o, qs, err)
		})
}

func runQuorumReset(args []string, stdout, stderr io.Writer) error {
	var yes bool
	return clientCommand("quorum reset", args, stderr, cliSpec{"quorum reset --yes [flags]",
		"Makes the members alive now the last full membership on every alive member (each logs it), forgetting failed ones:\n" +
			"the way out when failed nodes are gone for good. Run it on one side of a partition only if the other is really gone.",
		"placer quorum reset --yes", 0, 0, confirm(&yes, "quorum reset forgets every member not alive now")},
		func(fs *flag.FlagSet) {
			fs.BoolVar(&yes, "yes", false, "confirm: the members not alive now are gone for good")
		},
		func(ctx context.Context, cl *placement.Client, o *cliOptions, _ []string) error {
			qs, err := cl.ResetQuorum(ctx)
			return printQuorum(stdout, o, qs, err)
		})
}

func printQuorum(w io.Writer, o *cliOptions, qs []placement.QuorumInfo, err error) error {
	if err != nil {
		return err
	}
	return o.output(w, qs, func() {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NODE\tMODE\tSERVING\tMAJORITY\tALIVE/FULL\tFULL")
		for _, q := range qs {
			if q.Error != "" {
				fmt.Fprintf(tw, "%s\terror: %s\n", q.Node, q.Error)
				continue
			}
			mode := map[bool]string{true: "on", false: "off"}[q.Enabled]
			fmt.Fprintf(tw, "%s\t%s\t%t\t%t\t%d/%d\t%s\n", q.Node, mode, q.Serving, q.Majority, q.Alive, len(q.Full), joinOrNone(q.Full))
		}
		_ = tw.Flush()
	})
}
