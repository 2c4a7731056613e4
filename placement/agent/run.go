package agent

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"syscall"
)

// Signals are the signals an agent handles: SIGTERM and SIGINT (leave
// gracefully; the second one closes at once) and SIGHUP (Config.Reload).
var Signals = []os.Signal{syscall.SIGTERM, os.Interrupt, syscall.SIGHUP}

// Run runs an agent until ctx ends or the process gets SIGTERM or SIGINT:
// then it leaves gracefully (every key handed off to its next owner) and
// returns the leave's error, nil when nothing was lost. A second signal
// during the leave closes at once (ErrInterrupted). SIGHUP calls
// Config.Reload. The signals are caught from before the start, so that
// one arriving while the node joins is not lost.
func Run(ctx context.Context, cfg Config) error {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, Signals...)
	defer signal.Stop(sigs)
	a, err := Start(cfg)
	if err != nil {
		return err
	}
	in := a.Info()
	a.log.Info().Str("node", in.Name).Str("role", a.role()).Str("transport", in.Transport).Str("gossip", in.Gossip).
		Str("http", in.HTTP).Str("names_dir", in.NamesDir).Msg("agent started")
	return a.Serve(ctx, sigs)
}

// Serve runs a started agent on the signals of sigs (see Signals; the
// caller subscribes them with signal.Notify) until ctx ends or SIGTERM
// or SIGINT arrives, then stops it as Run does. For a caller that owns
// its signal handling; Run is Start, then Serve.
func (a *Agent) Serve(ctx context.Context, sigs <-chan os.Signal) error {
	for {
		select {
		case s, ok := <-sigs:
			if !ok {
				sigs = nil // closed: only ctx ends the agent now
				continue
			}
			if s == syscall.SIGHUP {
				a.reload()
				continue
			}
			a.log.Info().Str("signal", s.String()).Msg("leaving: handing every key off (send the signal again to close at once)")
		case <-ctx.Done():
			a.log.Info().Msg("leaving: handing every key off (context done)")
		}
		return a.stopOnSecond(sigs)
	}
}

// stopOnSecond runs the graceful stop, interrupting it if another
// terminating signal arrives.
func (a *Agent) stopOnSecond(sigs <-chan os.Signal) error {
	done := make(chan error, 1)
	go func() { done <- a.Stop() }()
	for {
		select {
		case err := <-done:
			return err
		case s, ok := <-sigs:
			if !ok {
				sigs = nil
				continue
			}
			if s == syscall.SIGHUP {
				continue
			}
			a.log.Warn().Str("signal", s.String()).Msg("closing now, without finishing the handoff")
			a.closeNow()
			return errors.Join(ErrInterrupted, <-done)
		}
	}
}

// reload applies Config.Reload's log level.
func (a *Agent) reload() {
	if a.cfg.Reload == nil {
		a.log.Info().Msg("SIGHUP: nothing to reload")
		return
	}
	lvl, err := a.cfg.Reload()
	if err != nil {
		a.log.Error().Err(err).Msg("SIGHUP: configuration not reloaded")
		return
	}
	a.cfg.Level.Set(lvl)
	a.log.Info().Str("level", lvl.String()).Msg("SIGHUP: log level reloaded")
}

// role names the agent's role: "member" or "hidden observer of AGENT".
func (a *Agent) role() string {
	if a.client != nil {
		return "hidden observer of " + a.client.Agent()
	}
	return "member"
}
