// Command placer is the placer daemon and CLI: run an agent, try the local
// demo cluster, query a running cluster as a hidden node, and run the
// benchmarks. `placer help` lists the subcommands.
package main

import (
	"flag"
	"io"
	"os"

	"github.com/placerhq/placer/internal/cliflag"
)

// command is one `placer` subcommand. Subcommands live in their own files and
// add themselves to the table with register (from an init function), so the
// table is built once at start-up and never changes afterwards.
type command struct {
	name    string                                              // e.g. "bench ring" (words separated by one space)
	summary string                                              // one line for `placer help`
	run     func(args []string, stdout, stderr io.Writer) error // args exclude the command words
}

var commands = cliflag.Commands{Program: "placer", About: "placer: consistent-hashing process placement for Go services"}

func register(c *command) {
	commands.Register(cliflag.Command{Name: c.name, Summary: c.summary, Run: c.run})
}

// errUsage marks an error caused by bad command-line input; main exits 2 for it.
var errUsage = cliflag.ErrUsage

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run runs the command of args and returns the exit status (see
// cliflag.Commands.Run): 0 ok, 1 the operation failed, 2 bad usage.
func run(args []string, stdout, stderr io.Writer) int { return commands.Run(args, stdout, stderr) }

// newFlagSet returns a flag set for a subcommand that reports errors instead
// of exiting, and prints its usage to stderr.
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("placer "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parseFlags parses args (a failure is a usage error), then fills the
// flags not given from their PLACER_* variables.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := cliflag.Parse(fs, args); err != nil {
		return err
	}
	return cliflag.ApplyEnv(fs)
}
