package globalcli

import (
	"context"
	"flag"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/placerhq/placer/placement"
	"github.com/placerhq/placer/placement/global"
)

func globalCommands() []Command {
	return []Command{
		{Name: "global list", Summary: "list the global names (the agent's replica)", Line: "global list [--json] [flags]",
			About: "Lists every live global name as the agent's replica holds it: holder, registration time, the authority that confirmed it.",
			Short: "placer global list", Flags: noFlags(globalList)},
		{Name: "global whereis", Summary: "show the process registered under a global name", Line: "global whereis NAME [--json] [flags]",
			About: "Prints the PID holding the global name NAME (:global.whereis_name), from the agent's replica or the name's authority.",
			Short: "placer global whereis NAME", MinArgs: 1, MaxArgs: 1, Flags: noFlags(globalWhereis)},
		{Name: "global send", Summary: "send a message to the process registered under a global name", Line: "global send NAME MSG [flags]",
			About: "Sends MSG (bytes as given) to the holder of the global name NAME (:global.send).",
			Short: "placer global send NAME MSG", MinArgs: 2, MaxArgs: 2, Flags: noFlags(globalSend)},
		{Name: "global call", Summary: "call the process registered under a global name and print its reply", Line: "global call NAME REQ [--json] [flags]",
			About: "Calls the holder of the global name NAME with REQ (GenServer.call({:global, NAME}, REQ)) and prints the reply.",
			Short: "placer global call NAME REQ", MinArgs: 2, MaxArgs: 2, Flags: noFlags(globalCall)},
		{Name: "global unregister", Summary: "unregister a global name", Line: "global unregister NAME [flags]",
			About: "Ends the registration of the global name NAME, whoever holds it (:global.unregister_name).",
			Short: "placer global unregister NAME", MinArgs: 1, MaxArgs: 1, Flags: noFlags(globalUnregister)},
		{Name: "global start", Summary: "start a process of a built-in kind under a global name", Line: "global start NAME KIND [--on NODE] [--args S] [flags]",
			About: "Starts a process of KIND (echo, printer, counter, kv, ...) on NODE (default: the agent) and registers it as NAME\n" +
				"in one step (name: {:global, NAME}); if NAME is taken, the new process is stopped and the holder named.",
			Short: "placer global start NAME KIND", MinArgs: 2, MaxArgs: 2, Flags: globalStartFlags},
	}
}

func globalList(ctx context.Context, e Env, cl *placement.Client) error {
	ns, err := global.NewRemote(cl).Names(ctx)
	if err != nil {
		return err
	}
	if e.JSON {
		return e.printJSON(ns)
	}
	tw := tabwriter.NewWriter(e.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tPID\tREGISTERED\tAUTHORITY")
	for _, n := range ns {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", n.Name, n.PID, n.Registered.UTC().Format(time.RFC3339Nano), n.Authority)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err = fmt.Fprintf(e.Out, "(%d names, as seen by %s)\n", len(ns), cl.Agent())
	return err
}

func globalWhereis(ctx context.Context, e Env, cl *placement.Client) error {
	n, err := global.NewRemote(cl).Whereis(ctx, e.Pos[0])
	if err != nil {
		return err
	}
	if e.JSON {
		return e.printJSON(n)
	}
	_, err = fmt.Fprintln(e.Out, n.PID)
	return err
}

func globalSend(ctx context.Context, e Env, cl *placement.Client) error {
	if err := global.NewRemote(cl).Send(ctx, e.Pos[0], []byte(e.Pos[1])); err != nil {
		return err
	}
	return e.ok(map[string]any{"name": e.Pos[0], "agent": cl.Agent()})
}

func globalCall(ctx context.Context, e Env, cl *placement.Client) error {
	out, err := global.NewRemote(cl).Call(ctx, e.Pos[0], []byte(e.Pos[1]))
	if err != nil {
		return err
	}
	if e.JSON {
		return e.printJSON(map[string]any{"name": e.Pos[0], "reply": rawOrString(out)})
	}
	_, err = fmt.Fprintln(e.Out, string(out))
	return err
}

func globalUnregister(ctx context.Context, e Env, cl *placement.Client) error {
	if err := global.NewRemote(cl).Unregister(ctx, e.Pos[0]); err != nil {
		return err
	}
	return e.ok(map[string]any{"name": e.Pos[0]})
}

func globalStartFlags(fs *flag.FlagSet) Runner {
	on := fs.String("on", "", "node to start the process on (default: the agent)")
	args := fs.String("args", "", "the process's Init args (bytes as given)")
	return runner(func(e Env) error {
		return e.with(func(ctx context.Context, e Env, cl *placement.Client) error {
			a := global.StartArgs{Name: e.Pos[0], Kind: e.Pos[1], Node: *on, Args: []byte(*args)}
			pid, err := global.NewRemote(cl).Start(ctx, a)
			if err != nil {
				return err
			}
			if e.JSON {
				return e.printJSON(map[string]any{"name": a.Name, "kind": a.Kind, "pid": pid})
			}
			_, err = fmt.Fprintf(e.Out, "%s registered as %s\n", pid, a.Name)
			return err
		})
	})
}
