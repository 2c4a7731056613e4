// Package cliflag holds the command-line plumbing the placer command
// shares between its subcommands: the subcommand table and its dispatch
// (Commands: one Register per command, exit codes 0/1/2, group listings),
// repeatable list flags, flags interleaved with positional arguments,
// PLACER_* environment variables for every flag, and a usage-error
// sentinel. It imports only the standard library.
package cliflag

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// ErrUsage marks an error caused by bad command-line input (exit 2).
var ErrUsage = errors.New("usage error")

// List is a repeatable flag whose values may also be comma-separated. The
// first use in a parse replaces what the list held (a config file's
// value), later ones append.
type List struct {
	P   *[]string
	set bool
}

func (l *List) String() string {
	if l.P == nil {
		return ""
	}
	return strings.Join(*l.P, ",")
}

// Set implements flag.Value.
func (l *List) Set(v string) error {
	if !l.set {
		*l.P, l.set = nil, true
	}
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l.P = append(*l.P, s)
		}
	}
	return nil
}

// Parse parses args, wrapping a failure (but not flag.ErrHelp) in ErrUsage.
func Parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", ErrUsage, err)
	}
	return nil
}

// ParseInterleaved parses args allowing flags after positional arguments
// (`placer lookup KEY --n 3`), and returns the positional ones. A negative
// number is positional (`placer rpc NODE abs -1`); "--" ends the flags.
func ParseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for len(args) > 0 {
		a := args[0]
		switch {
		case a == "--":
			return append(pos, args[1:]...), nil
		case !strings.HasPrefix(a, "-") || a == "-" || isNumber(a):
			pos, args = append(pos, a), args[1:]
			continue
		}
		n := 1
		if name := strings.TrimLeft(a, "-"); !strings.Contains(name, "=") {
			if f := fs.Lookup(name); f != nil && !isBoolFlag(f) {
				n = 2
			}
		}
		n = min(n, len(args))
		if err := Parse(fs, args[:n]); err != nil {
			return nil, err
		}
		args = args[n:]
	}
	return pos, nil
}

func isNumber(s string) bool {
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}

func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// EnvName is the environment variable of a flag: PLACER_ and the flag's
// name upper-cased with '_' for '-' (--cookie-file: PLACER_COOKIE_FILE).
func EnvName(flagName string) string {
	return "PLACER_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// ApplyEnv sets every flag of fs that was not given on the command line
// (Parse already ran) from its PLACER_* variable, if set and not empty:
// flags win over the environment, which wins over what fs held before (a
// config file, the defaults). A bad value is a usage error naming the
// variable. skip lists flags that take no variable.
func ApplyEnv(fs *flag.FlagSet, skip ...string) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		v, ok := os.LookupEnv(EnvName(f.Name))
		if !ok || v == "" || given[f.Name] || err != nil || contains(skip, f.Name) {
			return
		}
		if serr := f.Value.Set(v); serr != nil {
			err = fmt.Errorf("%w: %s=%q: %v", ErrUsage, EnvName(f.Name), v, serr)
		}
	})
	return err
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// ParseInts reads a comma-separated list of integers.
func ParseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

// ParseFloats reads a comma-separated list of numbers.
func ParseFloats(s string) ([]float64, error) {
	var out []float64
	for _, f := range strings.Split(s, ",") {
		x, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, nil
}

// JoinInts is the comma-separated form of xs.
func JoinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ",")
}

// JoinFloats is the comma-separated form of xs.
func JoinFloats(xs []float64) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.FormatFloat(x, 'g', -1, 64)
	}
	return strings.Join(s, ",")
}
