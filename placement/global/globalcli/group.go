package globalcli

import (
	"context"
	"flag"
	"fmt"
	"text/tabwriter"

	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/node/pg"
	"github.com/placerhq/placer/placement"
)

func groupCommands() []Command {
	return []Command{
		{Name: "group which", Summary: "list the process groups (pg:which_groups) with their sizes", Line: "group which [--scope S] [--json] [flags]",
			About: "Lists the groups of the agent's pg scope with their members and the agent's local members.",
			Short: "placer group which", Flags: scopeFlag(groupWhich)},
		{Name: "group members", Summary: "list a group's members (pg:get_members)", Line: "group members GROUP [--scope S] [--json] [flags]",
			About: "Lists the members of GROUP as the agent sees them (a process once per join).",
			Short: "placer group members GROUP", MinArgs: 1, MaxArgs: 1, Flags: scopeFlag(groupMembers)},
		{Name: "group join", Summary: "make processes of the agent join a group (pg:join)", Line: "group join GROUP PID... [--scope S] [flags]",
			About: "Makes the processes PID... (of the agent's node, as placer prints them: <node.id.creation>) join GROUP.",
			Short: "placer group join GROUP PID...", MinArgs: 2, MaxArgs: 1 << 10, Flags: scopeFlag(groupJoinLeave(true))},
		{Name: "group leave", Summary: "make processes of the agent leave a group (pg:leave)", Line: "group leave GROUP PID... [--scope S] [flags]",
			About: "Makes the processes PID... of the agent's node leave GROUP.",
			Short: "placer group leave GROUP PID...", MinArgs: 2, MaxArgs: 1 << 10, Flags: scopeFlag(groupJoinLeave(false))},
	}
}

// scopeFlag adds --scope and runs f with the scope's Remote on the agent.
func scopeFlag(f func(ctx context.Context, e Env, r *pg.Remote) error) func(*flag.FlagSet) Runner {
	return func(fs *flag.FlagSet) Runner {
		scope := fs.String("scope", pg.DefaultScope, "pg scope")
		return runner(func(e Env) error {
			return e.with(func(ctx context.Context, e Env, cl *placement.Client) error {
				agent, err := cl.Connect(ctx)
				if err != nil {
					return err
				}
				return f(ctx, e, pg.NewRemote(cl.Node(), agent, *scope))
			})
		})
	}
}

func groupWhich(ctx context.Context, e Env, r *pg.Remote) error {
	gs, err := r.Groups(ctx)
	if err != nil {
		return err
	}
	if e.JSON {
		if gs == nil {
			gs = []pg.GroupInfo{}
		}
		return e.printJSON(gs)
	}
	tw := tabwriter.NewWriter(e.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "GROUP\tMEMBERS\tLOCAL")
	for _, g := range gs {
		fmt.Fprintf(tw, "%s\t%d\t%d\n", g.Name, g.Members, g.Local)
	}
	return tw.Flush()
}

func groupMembers(ctx context.Context, e Env, r *pg.Remote) error {
	ms, err := r.Members(ctx, e.Pos[0])
	if err != nil {
		return err
	}
	if e.JSON {
		if ms == nil {
			ms = []node.PID{}
		}
		return e.printJSON(map[string]any{"group": e.Pos[0], "members": ms})
	}
	for _, m := range ms {
		fmt.Fprintln(e.Out, m)
	}
	return nil
}

func groupJoinLeave(join bool) func(ctx context.Context, e Env, r *pg.Remote) error {
	return func(ctx context.Context, e Env, r *pg.Remote) error {
		pids := make([]node.PID, 0, len(e.Pos)-1)
		for _, s := range e.Pos[1:] {
			p, err := node.ParsePID(s)
			if err != nil {
				return fmt.Errorf("%w: %w", e.Usage, err)
			}
			pids = append(pids, p)
		}
		op := r.Leave
		if join {
			op = r.Join
		}
		if err := op(ctx, e.Pos[0], pids...); err != nil {
			return err
		}
		return e.ok(map[string]any{"group": e.Pos[0], "pids": pids})
	}
}
