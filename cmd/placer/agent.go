package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/rs/zerolog"
)

func init() {
	register(&command{
		name:    "agent",
		summary: "run a placer cluster node (daemon): gossip, ring, keyed processes, admin HTTP",
		run:     runAgent,
	})
}

// errInterrupted: a second signal closed the agent before its graceful
// leave finished (exit status 1).
var errInterrupted = errors.New("second signal: closed without finishing the handoff")

func runAgent(args []string, stdout, stderr io.Writer) error {
	cfg, err := parseAgentConfig(args, stderr)
	if err != nil {
		return err
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, os.Interrupt, syscall.SIGHUP)
	defer signal.Stop(sigs)
	a, err := startAgent(cfg, stdout, stderr)
	if err != nil {
		return err
	}
	return a.serve(sigs, func() (zerolog.Level, error) {
		c, err := parseAgentConfig(args, io.Discard)
		if err != nil {
			return 0, err
		}
		return zerolog.ParseLevel(c.LogLevel)
	})
}

// serve runs the agent until SIGTERM or SIGINT: then it leaves gracefully
// (every key handed off) and returns nil; a second such signal closes it
// at once (errInterrupted). SIGHUP re-reads the log level (the config
// file, with the command-line flags over it).
func (a *agent) serve(sigs <-chan os.Signal, reloadLevel func() (zerolog.Level, error)) error {
	for s := range sigs {
		if s == syscall.SIGHUP {
			a.reload(reloadLevel)
			continue
		}
		a.log.Info().Str("signal", s.String()).Msg("leaving: handing every key off (send the signal again to close at once)")
		return a.stopOnSecond(sigs)
	}
	return nil
}

// stopOnSecond runs the graceful stop, interrupting it if another
// terminating signal arrives.
func (a *agent) stopOnSecond(sigs <-chan os.Signal) error {
	done := make(chan error, 1)
	go func() { done <- a.stop() }()
	for {
		select {
		case err := <-done:
			return err
		case s := <-sigs:
			if s == syscall.SIGHUP {
				continue
			}
			a.log.Warn().Str("signal", s.String()).Msg("closing now, without finishing the handoff")
			a.closeNow()
			return errors.Join(errInterrupted, <-done)
		}
	}
}

// reload sets the log level from the reloaded configuration.
func (a *agent) reload(reloadLevel func() (zerolog.Level, error)) {
	lvl, err := reloadLevel()
	if err != nil {
		a.log.Error().Err(err).Msg("SIGHUP: configuration not reloaded")
		return
	}
	a.level.Store(int32(lvl))
	a.log.Info().Str("level", lvl.String()).Msg("SIGHUP: log level reloaded")
}

// printStarted tells the operator where the agent listens.
func (a *agent) printStarted(w io.Writer) {
	httpText := "off"
	if a.http != nil {
		httpText = "http://" + a.http.Addr()
	}
	role := "member"
	if a.cfg.Hidden {
		role = "hidden observer of " + a.client.Agent()
	}
	fmt.Fprintf(w, "placer agent %s (%s): transport %s, gossip %s, admin %s, names dir %s\n",
		a.cfg.Name, role, dash(a.rec.Transport), dash(a.rec.Gossip), httpText, a.namesDir)
}
