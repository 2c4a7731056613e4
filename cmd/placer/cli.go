package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/placerhq/placer/placement"
	"github.com/placerhq/placer/transport"

	"github.com/placerhq/placer/placement/agent/cookie"

	"github.com/placerhq/placer/placement/agent"
)

// The CLI subcommands talk to an agent as a hidden node (placement.Client)
// over the placer transport, with the cookie, the way a remote shell joins
// an Erlang cluster. The agent is named with --node (looked up in the
// names directory) or --addr; without either, every agent in the names
// directory is a candidate, in name order.

// cliOptions are the flags every CLI command shares.
type cliOptions struct {
	nodes      []string
	addrs      []string
	cookieFile string
	namesDir   string
	timeout    time.Duration
	json       bool
	tlsCert    string
	tlsKey     string
	tlsCA      string
}

// defaultCLITimeout bounds a CLI command.
const defaultCLITimeout = 5 * time.Second

// cliFlags returns the flag set of a CLI command with the shared flags.
func cliFlags(name string, stderr io.Writer, o *cliOptions) *flag.FlagSet {
	fs := newFlagSet(name, stderr)
	fs.Var(&listFlag{p: &o.nodes}, "node", "agent to talk to, by node name (looked up in the names dir); repeatable: the next one is used if one is unreachable")
	fs.Var(&listFlag{p: &o.addrs}, "addr", "agent to talk to by transport address: NAME@HOST:PORT, or HOST:PORT of an agent in the names dir; repeatable")
	fs.StringVar(&o.cookieFile, "cookie-file", cookie.DefaultPath(), "cookie file (the CLI never creates it)")
	fs.StringVar(&o.namesDir, "names-dir", "", "names directory (default $PLACER_NAMES_DIR, $XDG_RUNTIME_DIR/placer or /tmp/placer-$UID)")
	fs.DurationVar(&o.timeout, "timeout", defaultCLITimeout, "give up after this long")
	fs.BoolVar(&o.json, "json", false, "print JSON instead of text")
	fs.StringVar(&o.tlsCert, "tls-cert", "", "PEM certificate, if the cluster uses mutual TLS (with --tls-key, --tls-ca)")
	fs.StringVar(&o.tlsKey, "tls-key", "", "PEM private key for --tls-cert")
	fs.StringVar(&o.tlsCA, "tls-ca", "", "PEM CA of the cluster")
	return fs
}

// parseInterleaved parses args allowing flags after positional arguments
// (`placer lookup KEY --n 3`), and returns the positional ones. A negative
// number is positional (`placer rpc NODE abs -1`); "--" ends the flags.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
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
		if err := parseFlags(fs, args[:n]); err != nil {
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

// client builds the hidden client for the options' agents.
func (o *cliOptions) client() (*placement.Client, error) {
	if o.timeout <= 0 {
		return nil, fmt.Errorf("%w: --timeout must be positive", errUsage)
	}
	cfg := agent.DefaultClientConfig()
	cfg.Name, cfg.CookieFile, cfg.NamesDir, cfg.Timeout = cliNodeName(), o.cookieFile, o.namesDir, o.timeout
	cfg.Nodes, cfg.Addrs = o.nodes, o.addrs
	var err error
	if o.tlsCert != "" || o.tlsKey != "" || o.tlsCA != "" {
		if cfg.TLS, err = transport.TLSFromFiles(o.tlsCert, o.tlsKey, o.tlsCA); err != nil {
			return nil, err
		}
	}
	cl, err := agent.NewClient(cfg)
	if errors.Is(err, agent.ErrBadAddr) {
		return nil, fmt.Errorf("%w: %w", errUsage, err)
	}
	return cl, err
}

// cliNodeName is a fresh hidden node name for one CLI run.
func cliNodeName() string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("placer-cli-%d-%s@localhost", os.Getpid(), hex.EncodeToString(b[:]))
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

// printJSON writes v as indented JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
