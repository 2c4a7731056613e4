package cliflag

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
)

// Command is one subcommand of a program.
type Command struct {
	Name    string                                              // e.g. "bench ring" (words separated by one space)
	Summary string                                              // one line for the help
	Run     func(args []string, stdout, stderr io.Writer) error // args exclude the command words
}

// Commands is a program's subcommands, registered once at start-up (from
// init functions) and read-only afterwards: adding a command is one
// Register call in its own file.
type Commands struct {
	Program, About string // "placer", and the help's first line
	byName         map[string]*Command
}

// Register adds c; a duplicate name is a programming error (panic).
func (cs *Commands) Register(c Command) {
	if cs.byName == nil {
		cs.byName = map[string]*Command{}
	}
	if _, dup := cs.byName[c.Name]; dup {
		panic(cs.Program + ": duplicate command " + c.Name)
	}
	cs.byName[c.Name] = &c
}

// Run runs the command of args and returns the exit status: 0 ok, 1 the
// operation failed, 2 bad usage (no command: the help on stderr; a group
// of commands alone, like `placer bench`: its commands; an unknown one;
// an error wrapping ErrUsage). "help" prints the help on stdout (exit 0).
func (cs *Commands) Run(args []string, stdout, stderr io.Writer) int {
	switch {
	case len(args) == 0:
		cs.Usage(stderr, "")
		return 2
	case args[0] == "help" || args[0] == "-h" || args[0] == "--help":
		cs.Usage(stdout, strings.Join(args[1:], " "))
		return 0
	}
	c, rest := cs.lookup(args)
	if c == nil {
		if group := strings.Join(args, " "); cs.hasGroup(group) {
			cs.Usage(stderr, group)
			return 2
		}
		fmt.Fprintf(stderr, "%s: unknown command %q; run `%s help`\n", cs.Program, strings.Join(args, " "), cs.Program)
		return 2
	}
	err := c.Run(rest, stdout, stderr)
	switch {
	case err == nil || errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, ErrUsage):
		fmt.Fprintf(stderr, "%s %s: %v\n", cs.Program, c.Name, err)
		return 2
	}
	fmt.Fprintf(stderr, "%s %s: %v\n", cs.Program, c.Name, err)
	return 1
}

// lookup finds the longest command name that prefixes args.
func (cs *Commands) lookup(args []string) (*Command, []string) {
	for n := len(args); n > 0; n-- {
		if c, ok := cs.byName[strings.Join(args[:n], " ")]; ok {
			return c, args[n:]
		}
	}
	return nil, nil
}

// hasGroup reports whether some command starts with the words of group.
func (cs *Commands) hasGroup(group string) bool {
	for n := range cs.byName {
		if strings.HasPrefix(n, group+" ") {
			return true
		}
	}
	return false
}

// Usage lists the commands (those of group only, if set).
func (cs *Commands) Usage(w io.Writer, group string) {
	fmt.Fprintln(w, cs.About)
	fmt.Fprintf(w, "\nusage: %s %s<command> [flags]\n\ncommands:\n", cs.Program, strings.TrimSpace(group+" "))
	names := make([]string, 0, len(cs.byName))
	for n := range cs.byName {
		if group == "" || strings.HasPrefix(n, group+" ") {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-18s %s\n", n, cs.byName[n].Summary)
	}
	fmt.Fprintf(w, "\nRun `%s <command> -h` for a command's flags; every flag also reads PLACER_<FLAG> (flags win).\n", cs.Program)
	fmt.Fprintln(w, "Exit status: 0 ok, 1 the operation failed, 2 bad usage.")
}

// FlagNames rewrites the Go field names in text (an error of a config
// struct whose fields mirror fs's flags: PortMin for --port-min, HTTP for
// --http) as the flags.
func FlagNames(fs *flag.FlagSet, text string) string {
	fs.VisitAll(func(f *flag.Flag) {
		field := ""
		for _, w := range strings.Split(f.Name, "-") {
			field += strings.ToUpper(w[:1]) + w[1:]
		}
		field = strings.NewReplacer("Http", "HTTP", "Tls", "TLS").Replace(field)
		text = regexp.MustCompile(`\b`+field+`\b`).ReplaceAllString(text, "--"+f.Name)
	})
	return text
}
