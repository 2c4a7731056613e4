package load

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/placerhq/placer/internal/faults/history"
	"github.com/placerhq/placer/internal/poll"
	"github.com/placerhq/placer/placement/agent/cookie"
)

// Commands of the worker protocol: the harness writes them to the worker's
// stdin, one a line, and reads the answer from its stdout.
const (
	CmdStop   = "stop"   // end the streams; answer "stopped"
	CmdVerify = "verify" // read every key's final state; answer "verified"
	// Closing stdin (or SIGTERM) closes the generator and exits.
	Ready = "ready" // printed once the generator runs
)

// Keys returns the n keys of the streams: k00, k01, ...
func Keys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("k%02d", i)
	}
	return keys
}

// Main is the worker process: `placer bench faults worker` flags, then
// the stdin protocol (CmdStop, CmdVerify, EOF). The harness runs it inside
// a node's namespace.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	cfg, path, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	h, err := history.Create(path)
	if err != nil {
		return err
	}
	cfg.History = h
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	g, err := startRetrying(ctx, cfg)
	if err != nil {
		return errors.Join(err, h.Close())
	}
	fmt.Fprintln(stdout, Ready)
	serve(ctx, g, stdin, stdout)
	return errors.Join(g.Close(), h.Close())
}

// startRetrying starts the generator, retrying while the agent is not
// reachable yet, for up to 20 s.
func startRetrying(ctx context.Context, cfg Config) (*Generator, error) {
	deadline := time.Now().Add(20 * time.Second)
	for {
		g, err := Start(ctx, cfg)
		if err == nil || time.Now().After(deadline) || errors.Is(err, ErrConfig) {
			return g, err
		}
		if !poll.Sleep(ctx, 200*time.Millisecond) {
			return nil, err
		}
	}
}

// serve runs the stdin commands until EOF or ctx ends.
func serve(ctx context.Context, g *Generator, stdin io.Reader, stdout io.Writer) {
	lines := make(chan string)
	go func() { // ends at EOF: the harness closes stdin, or dies
		defer close(lines)
		sc := bufio.NewScanner(stdin)
		for sc.Scan() {
			select {
			case lines <- strings.TrimSpace(sc.Text()):
			case <-ctx.Done():
				return
			}
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case line, ok := <-lines:
			if !ok {
				return
			}
			fmt.Fprintln(stdout, run(ctx, g, line))
		}
	}
}

// run runs one command and returns its answer.
func run(ctx context.Context, g *Generator, cmd string) string {
	switch cmd {
	case CmdStop:
		g.Stop()
		return "stopped"
	case CmdVerify:
		vctx, cancel := context.WithTimeout(ctx, 45*time.Second)
		defer cancel()
		g.Verify(vctx)
		return "verified"
	}
	return "unknown command " + cmd
}

// parseFlags turns the worker's flags into a Config and the history path.
func parseFlags(args []string, stderr io.Writer) (Config, string, error) {
	fs := flag.NewFlagSet("placer bench faults worker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg Config
	peers := peerFlag{}
	fs.StringVar(&cfg.Node, "node", "", "the agent's node name")
	fs.StringVar(&cfg.Agent, "agent", "", "the agent's transport host:port")
	fs.Var(peers, "peer", "NAME=HOST:PORT of a member (repeatable)")
	cookieFile := fs.String("cookie-file", "", "the cluster's cookie file")
	keys := fs.Int("keys", 20, "keys (k00, k01, ...)")
	fs.DurationVar(&cfg.Period, "period", 500*time.Millisecond, "pause between two rounds of a stream")
	fs.DurationVar(&cfg.Timeout, "timeout", 2*time.Second, "bound of each operation")
	path := fs.String("history", "", "history file to write")
	if err := fs.Parse(args); err != nil {
		return cfg, "", fmt.Errorf("%w: %v", ErrConfig, err)
	}
	if *path == "" || *keys < 1 || fs.NArg() > 0 {
		return cfg, "", fmt.Errorf("%w: need --history, --keys >= 1 and no arguments", ErrConfig)
	}
	c, err := cookie.Read(*cookieFile)
	if err != nil {
		return cfg, "", err
	}
	cfg.Cookie, cfg.Peers, cfg.Keys = c, peers, Keys(*keys)
	return cfg, *path, nil
}

// peerFlag collects NAME=HOST:PORT pairs.
type peerFlag map[string]string

func (p peerFlag) String() string { return fmt.Sprint(map[string]string(p)) }

func (p peerFlag) Set(s string) error {
	name, addr, ok := strings.Cut(s, "=")
	if !ok || name == "" || addr == "" {
		return fmt.Errorf("want NAME=HOST:PORT, got %q", s)
	}
	p[name] = addr
	return nil
}
