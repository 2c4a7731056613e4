// Package globalcli is the logic of the placer CLI's `global`, `group` and
// `lock` commands: cmd/placer only parses the shared flags (agent, cookie,
// timeout, --json) and hands each command an Env. The commands use the
// cluster as a hidden node through an agent: global names and locks with
// global.Remote, groups with pg.Remote on the agent's default scope.
package globalcli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/placerhq/placer/placement"
)

// Env is what a command gets from cmd/placer.
type Env struct {
	Pos      []string                          // positional arguments
	Timeout  time.Duration                     // --timeout: bounds each request
	JSON     bool                              // --json
	Out, Err io.Writer                         // stdout, stderr
	Usage    error                             // the sentinel of a usage error (exit 2)
	Client   func() (*placement.Client, error) // a client of the agent (closed by the command)
}

// Command is one subcommand: its name, usage and flags. Flags adds the
// command's own flags to fs and returns what runs the command once fs is
// parsed: given the parse's error, it returns it at once (so that the
// caller needs no branch of its own).
type Command struct {
	Name, Summary      string
	Line, About, Short string // usage: synopsis, description, short form
	MinArgs, MaxArgs   int
	Flags              func(fs *flag.FlagSet) Runner
}

// Runner runs a parsed command.
type Runner func(parseErr error, e Env) error

// runner makes a Runner of f.
func runner(f func(e Env) error) Runner {
	return func(parseErr error, e Env) error {
		if parseErr != nil {
			return parseErr
		}
		return f(e)
	}
}

// Commands lists the subcommands, in help order.
func Commands() []Command {
	return append(append(globalCommands(), groupCommands()...), lockCommands()...)
}

// noFlags is Flags for a command without flags of its own.
func noFlags(run func(ctx context.Context, e Env, cl *placement.Client) error) func(*flag.FlagSet) Runner {
	return func(*flag.FlagSet) Runner {
		return runner(func(e Env) error { return e.with(run) })
	}
}

// with runs f with a client and a ctx bounded by Timeout.
func (e Env) with(f func(ctx context.Context, e Env, cl *placement.Client) error) error {
	if e.Timeout <= 0 {
		return fmt.Errorf("%w: --timeout must be positive", e.Usage)
	}
	cl, err := e.Client()
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), e.Timeout)
	defer cancel()
	return f(ctx, e, cl)
}

// printJSON writes v as indented JSON.
func (e Env) printJSON(v any) error {
	enc := json.NewEncoder(e.Out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// ok prints "ok", or {"ok": true, ...} with --json.
func (e Env) ok(fields map[string]any) error {
	if e.JSON {
		fields["ok"] = true
		return e.printJSON(fields)
	}
	_, err := fmt.Fprintln(e.Out, "ok")
	return err
}

// rawOrString embeds b in JSON as is if it is valid JSON, else as a string.
func rawOrString(b []byte) any {
	if json.Valid(b) {
		return json.RawMessage(b)
	}
	return string(b)
}
