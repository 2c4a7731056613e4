// Command placer is the placer daemon and CLI: run an agent, try the local
// demo cluster, query a running cluster as a hidden node, and run the
// benchmarks. `placer help` lists the subcommands.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

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

var commands = map[string]*command{}

func register(c *command) {
	if _, dup := commands[c.name]; dup {
		panic("placer: duplicate command " + c.name)
	}
	commands[c.name] = c
}

// errUsage marks an error caused by bad command-line input; main exits 2 for it.
var errUsage = cliflag.ErrUsage

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run runs the command of args and returns the exit status: 0 ok, 1 the
// operation failed, 2 bad usage (no command, an unknown one, bad flags).
func run(args []string, stdout, stderr io.Writer) int {
	switch {
	case len(args) == 0:
		usage(stderr, "")
		return 2
	case args[0] == "help" || args[0] == "-h" || args[0] == "--help":
		usage(stdout, strings.Join(args[1:], " "))
		return 0
	}
	c, rest := lookup(args)
	if c == nil {
		if group := strings.Join(args, " "); hasGroup(group) {
			usage(stderr, group) // `placer bench`: its subcommands
			return 2
		}
		fmt.Fprintf(stderr, "placer: unknown command %q; run `placer help`\n", strings.Join(args, " "))
		return 2
	}
	if err := c.run(rest, stdout, stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "placer %s: %v\n", c.name, err)
		if errors.Is(err, errUsage) {
			return 2
		}
		return 1
	}
	return 0
}

// lookup finds the longest command name that prefixes args.
func lookup(args []string) (*command, []string) {
	for n := len(args); n > 0; n-- {
		if c, ok := commands[strings.Join(args[:n], " ")]; ok {
			return c, args[n:]
		}
	}
	return nil, nil
}

// hasGroup reports whether some command starts with the words of group.
func hasGroup(group string) bool {
	for n := range commands {
		if strings.HasPrefix(n, group+" ") {
			return true
		}
	}
	return false
}

// usage lists the commands (those of group only, if set).
func usage(w io.Writer, group string) {
	fmt.Fprintln(w, "placer: consistent-hashing process placement for Go services")
	fmt.Fprintf(w, "\nusage: placer %s<command> [flags]\n\ncommands:\n", strings.TrimSpace(group+" "))
	names := make([]string, 0, len(commands))
	for n := range commands {
		if group == "" || strings.HasPrefix(n, group+" ") {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-18s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun `placer <command> -h` for a command's flags; every flag also reads PLACER_<FLAG> (flags win).")
	fmt.Fprintln(w, "Exit status: 0 ok, 1 the operation failed, 2 bad usage.")
}

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
