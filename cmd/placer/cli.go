package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/placerhq/placer/internal/cliflag"
	"github.com/placerhq/placer/placement"
	"github.com/placerhq/placer/placement/agent"
	"github.com/placerhq/placer/placement/agent/cookie"
)

// The CLI subcommands talk to an agent as a hidden node (placement.Client)
// over the placer transport, with the cookie, the way a remote shell joins
// an Erlang cluster. The agent is named with --node (looked up in the
// names directory) or --addr; without either, every agent in the names
// directory is a candidate, in name order. The operations themselves are
// placement.Client's; this file and cli_*.go only parse and print.

// cliOptions are the flags every CLI command shares.
type cliOptions struct {
	nodes, addrs           []string
	cookieFile, namesDir   string
	timeout                time.Duration
	json                   bool
	tlsCert, tlsKey, tlsCA string
}

// defaultCLITimeout bounds a CLI command.
const defaultCLITimeout = 5 * time.Second

// cliFlags returns the flag set of a CLI command with the shared flags.
func cliFlags(name string, stderr io.Writer, o *cliOptions) *flag.FlagSet {
	fs := newFlagSet(name, stderr)
	fs.Var(&cliflag.List{P: &o.nodes}, "node", "agent to talk to, by node name (looked up in the names dir); repeatable: the next one is used if one is unreachable")
	fs.Var(&cliflag.List{P: &o.addrs}, "addr", "agent to talk to by transport address: NAME@HOST:PORT, or HOST:PORT of an agent in the names dir; repeatable")
	fs.StringVar(&o.cookieFile, "cookie-file", cookie.DefaultPath(), "cookie file (the CLI never creates it)")
	fs.StringVar(&o.namesDir, "names-dir", "", "names directory (default $PLACER_NAMES_DIR, $XDG_RUNTIME_DIR/placer or /tmp/placer-$UID)")
	fs.DurationVar(&o.timeout, "timeout", defaultCLITimeout, "give up after this long")
	fs.BoolVar(&o.json, "json", false, "print JSON instead of text")
	fs.StringVar(&o.tlsCert, "tls-cert", "", "PEM certificate, if the cluster uses mutual TLS (with --tls-key, --tls-ca)")
	fs.StringVar(&o.tlsKey, "tls-key", "", "PEM private key for --tls-cert")
	fs.StringVar(&o.tlsCA, "tls-ca", "", "PEM CA of the cluster")
	return fs
}

// cliSpec is a CLI command's usage: its synopsis and description for
// -h, the short form for errors, and how many positional arguments it
// takes (maxArgs < 0: any number).
type cliSpec struct {
	line, about, short string
	minArgs, maxArgs   int
	check              func(pos []string) error // more checks of the arguments (after the flags), or nil
}

// parseCLI sets fs's usage from spec, parses args (flags may follow the
// positional arguments), applies the PLACER_* variables and checks the
// number of arguments.
func parseCLI(fs *flag.FlagSet, args []string, stderr io.Writer, spec cliSpec) ([]string, error) {
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: placer "+spec.line)
		fmt.Fprintln(stderr, spec.about)
		fs.PrintDefaults()
	}
	pos, err := cliflag.ParseInterleaved(fs, args)
	if err == nil {
		err = cliflag.ApplyEnv(fs)
	}
	if err == nil && (len(pos) < spec.minArgs || (spec.maxArgs >= 0 && len(pos) > spec.maxArgs)) {
		err = fmt.Errorf("%w: usage: %s", errUsage, spec.short)
	}
	if err == nil && spec.check != nil {
		err = spec.check(pos)
	}
	return pos, err
}

// clientCommand parses a CLI command and runs f with a client to the
// agent and a context bounded by --timeout.
func clientCommand(name string, args []string, stderr io.Writer, spec cliSpec, extra func(*flag.FlagSet),
	f func(ctx context.Context, cl *placement.Client, o *cliOptions, pos []string) error) error {
	var o cliOptions
	fs := cliFlags(name, stderr, &o)
	if extra != nil {
		extra(fs)
	}
	pos, err := parseCLI(fs, args, stderr, spec)
	if err != nil {
		return err
	}
	return o.withClient(func(ctx context.Context, cl *placement.Client) error { return f(ctx, cl, &o, pos) })
}

// client builds the hidden client for the options' agents.
func (o *cliOptions) client() (*placement.Client, error) {
	if o.timeout <= 0 {
		return nil, fmt.Errorf("%w: --timeout must be positive", errUsage)
	}
	cfg := agent.DefaultClientConfig()
	cfg.CookieFile, cfg.NamesDir, cfg.Timeout, cfg.Nodes, cfg.Addrs = o.cookieFile, o.namesDir, o.timeout, o.nodes, o.addrs
	cfg.TLSCert, cfg.TLSKey, cfg.TLSCA = o.tlsCert, o.tlsKey, o.tlsCA
	cl, err := agent.NewClient(cfg)
	if errors.Is(err, agent.ErrBadAddr) {
		return nil, fmt.Errorf("%w: %w", errUsage, err)
	}
	return cl, err
}

// withClient runs f with a client and a ctx bounded by the timeout.
func (o *cliOptions) withClient(f func(ctx context.Context, cl *placement.Client) error) error {
	cl, err := o.client()
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	return f(ctx, cl)
}

// output prints v as indented JSON with --json, else runs text.
func (o *cliOptions) output(w io.Writer, v any, text func()) error {
	if o.json {
		return printJSON(w, v)
	}
	text()
	return nil
}

// printJSON writes v as indented JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// rawOrString embeds b in JSON as is if it is valid JSON, else as a string.
func rawOrString(b []byte) any {
	if json.Valid(b) {
		return json.RawMessage(b)
	}
	return string(b)
}

// words joins the arguments from i on with spaces: `placer call kv s set
// name alice` is the request "set name alice" ("" when there are none).
func words(pos []string, i int) string {
	if i >= len(pos) {
		return ""
	}
	return strings.Join(pos[i:], " ")
}

// jsonArgs is rpc arguments: JSON as given, else the words as a JSON
// string; nil without any.
func jsonArgs(pos []string, i int) []byte {
	s := words(pos, i)
	if s == "" {
		return nil
	}
	if b := []byte(s); json.Valid(b) {
		return b
	}
	b, _ := json.Marshal(s)
	return b
}

// confirm refuses a destructive operation without --yes.
func confirm(yes *bool, what string) func([]string) error {
	return func(pos []string) error {
		if !*yes {
			return fmt.Errorf("%w: %s: add --yes to confirm", errUsage, strings.ReplaceAll(what, "ARG", strings.Join(pos, " ")))
		}
		return nil
	}
}

// isNodeName: NAME@NODE's NODE is itself name@host.
func nodeTarget(s string) (name, target string, ok bool) {
	name, target, ok = strings.Cut(s, "@")
	return name, target, ok && strings.Contains(target, "@")
}
