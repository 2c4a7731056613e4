package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"

	"github.com/rs/zerolog"

	"github.com/placerhq/placer/placement/agent"
	"github.com/placerhq/placer/transport"
)

func init() {
	register(&command{
		name:    "agent",
		summary: "run a placer cluster node (daemon): gossip, ring, keyed processes, admin HTTP",
		run:     runAgent,
	})
}

// runAgent runs the agent (package placement/agent) until SIGTERM or
// SIGINT: then it leaves gracefully; a second signal closes it at once.
func runAgent(args []string, stdout, stderr io.Writer) error {
	c, err := parseAgentConfig(args, stderr)
	if err != nil {
		return err
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, agent.Signals...)
	defer signal.Stop(sigs)
	a, err := startAgent(c, args, stdout, stderr)
	if err != nil {
		return err
	}
	return a.Serve(context.Background(), sigs)
}

// startAgent starts the agent of c with its logs on stderr and prints
// where it listens. SIGHUP re-reads the log level from args (the config
// file, with the flags over it).
func startAgent(c agentConfig, args []string, stdout, stderr io.Writer) (*agent.Agent, error) {
	cfg, err := c.toAgent()
	if err != nil {
		return nil, err
	}
	lvl, _ := zerolog.ParseLevel(c.LogLevel) // validated
	cfg.Level = new(agent.LevelVar)
	cfg.Level.Set(lvl)
	cfg.Logger = agent.NewLogger(stderr, c.LogFormat, cfg.Level)
	cfg.Reload = func() (zerolog.Level, error) {
		re, err := parseAgentConfig(args, io.Discard)
		if err != nil {
			return 0, err
		}
		return zerolog.ParseLevel(re.LogLevel)
	}
	a, err := agent.Start(cfg)
	if err != nil {
		return nil, err
	}
	fmt.Fprintln(stdout, a.Info())
	return a, nil
}

// toAgent is the library's config of c, with the TLS files loaded.
func (c *agentConfig) toAgent() (agent.Config, error) {
	cfg := c.Config
	cfg.DataDir = c.dataDir()
	if cfg.HTTP == "" {
		cfg.HTTP = agent.HTTPOff
	}
	var err error
	if c.TLSCert != "" {
		cfg.TLS, err = transport.TLSFromFiles(c.TLSCert, c.TLSKey, c.TLSCA)
	}
	return cfg, err
}
