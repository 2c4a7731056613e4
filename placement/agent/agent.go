package agent

import (
	"context"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/rs/zerolog"

	"github.com/placerhq/placer/placement"
	"github.com/placerhq/placer/placement/agent/admin"
	"github.com/placerhq/placer/placement/agent/names"
)

// Agent is a running agent: a cluster member (or, with Config.Hidden, a
// hidden client of the cluster that logs its events), its admin HTTP
// server and its record in the names directory. Stop and Close are safe
// to call from any goroutine, more than once.
type Agent struct {
	cfg      Config
	log      zerolog.Logger // component=agent
	namesDir string
	rec      names.Record

	cluster *placement.Cluster // nil when hidden
	svc     *services          // member only: global names and locks, groups
	client  *placement.Client  // hidden only
	http    *httpServer        // nil with HTTP off
	watch   *observer          // hidden only: logs the cluster's events
}

// Info tells where an agent listens.
type Info struct {
	Name      string // node name
	Hidden    bool   // a hidden observer
	Agent     string // hidden: the agent it reached ("" for a member)
	Transport string // transport host:port ("" when hidden: dial only)
	Gossip    string // Serf host:port ("" when hidden)
	HTTP      string // admin HTTP host:port ("" when off)
	NamesDir  string // the names directory it is registered in
}

// String is the line `placer agent` prints at start: where it listens.
func (in Info) String() string {
	httpText, role := "off", "member"
	if in.HTTP != "" {
		httpText = "http://" + in.HTTP
	}
	if in.Hidden {
		role = "hidden observer of " + in.Agent
	}
	return fmt.Sprintf("placer agent %s (%s): transport %s, gossip %s, admin %s, names dir %s",
		in.Name, role, orDash(in.Transport), orDash(in.Gossip), httpText, in.NamesDir)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// httpStopTimeout bounds the admin HTTP server's shutdown.
const httpStopTimeout = 2 * time.Second

// Start starts everything cfg asks for: the cluster node (or the hidden
// client), the admin HTTP server and the names record. It returns once
// the node has joined (or JoinTimeout passed). On error, whatever was
// started is stopped again.
func Start(cfg Config) (*Agent, error) {
	cfg = cfg.clone()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	a := &Agent{cfg: cfg, log: cfg.Logger.With().Str("component", "agent").Logger(), namesDir: names.Dir(cfg.NamesDir)}
	err := a.start()
	if err != nil {
		a.closeNow()
		a.release()
		return nil, err
	}
	return a, nil
}

// start starts the parts in order; the first error stops it. Every
// listener (transport, gossip, admin HTTP) is bound before the node joins
// anyone, so that a busy port fails the start before the cluster has seen
// this node; a member that fails after joining leaves gracefully, so that
// it never counts toward the quorum's full membership.
func (a *Agent) start() error {
	if err := names.EnsureDir(a.namesDir); err != nil {
		return err
	}
	if err := names.CheckFree(a.namesDir, a.cfg.Name, os.Getpid()); err != nil {
		return err
	}
	ln, err := a.listenHTTP()
	if err != nil {
		return err
	}
	startNode := a.startMember
	if a.cfg.Hidden {
		startNode = a.startHidden
	}
	if err := startNode(); err != nil {
		closeListener(ln)
		return err
	}
	if err := a.serveHTTP(ln); err != nil {
		return a.leaveAfter(err)
	}
	if err := names.Write(a.namesDir, a.rec); err != nil {
		return a.leaveAfter(err)
	}
	return nil
}

// Info returns where the agent listens.
func (a *Agent) Info() Info {
	in := Info{Name: a.cfg.Name, Hidden: a.cfg.Hidden, Transport: a.rec.Transport, Gossip: a.rec.Gossip,
		HTTP: a.rec.HTTP, NamesDir: a.namesDir}
	if a.client != nil {
		in.Agent = a.client.Agent()
	}
	return in
}

// Cluster returns the member's cluster node (nil for a hidden agent).
func (a *Agent) Cluster() *placement.Cluster { return a.cluster }

// Client returns a hidden agent's client (nil for a member).
func (a *Agent) Client() *placement.Client { return a.client }

// startHidden starts the hidden client and its event logger.
func (a *Agent) startHidden() error {
	cc := DefaultClientConfig()
	cc.Name, cc.CookieFile, cc.NamesDir, cc.Addrs = a.cfg.Name, a.cfg.CookieFile, a.namesDir, a.cfg.Join
	cc.TLS, cc.Logger = a.cfg.TLS, a.cfg.Logger
	cc.Discover = true // fail over to any member, not only the Join agents
	var err error
	if a.client, err = NewClient(cc); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), max(a.cfg.JoinTimeout, 0)+time.Second)
	defer cancel()
	if _, err := a.client.Members(ctx); err != nil {
		return err
	}
	if a.watch, err = startObserver(a.client, a.log); err != nil {
		return err
	}
	a.rec = names.Record{Name: a.cfg.Name, PID: os.Getpid(), Hidden: true, Started: time.Now().UTC()}
	return nil
}

// listenHTTP binds the admin HTTP listener unless it is off (nil then).
func (a *Agent) listenHTTP() (net.Listener, error) {
	if a.cfg.HTTP == HTTPOff {
		return nil, nil
	}
	ln, err := net.Listen("tcp", a.cfg.HTTP)
	if err != nil {
		return nil, fmt.Errorf("admin http: %w", err)
	}
	return ln, nil
}

func closeListener(ln net.Listener) {
	if ln != nil {
		_ = ln.Close()
	}
}

// serveHTTP serves the admin API on ln (nil: HTTP is off).
func (a *Agent) serveHTTP(ln net.Listener) error {
	if ln == nil {
		return nil
	}
	hc := admin.DefaultConfig()
	hc.Backend, hc.Logger, hc.Pprof = a.client, a.cfg.Logger, a.cfg.Pprof
	if a.cluster != nil {
		hc.Backend = a.svc.backend(a.cluster)
	}
	h, err := admin.NewHandler(hc)
	if err != nil {
		closeListener(ln)
		return err
	}
	a.http = startHTTPServer(ln, h, a.log)
	a.rec.HTTP = a.http.addr
	return nil
}

// Stop is the graceful stop: leave the cluster (every key handed off to
// its next owner, bounded by DrainTimeout), then close the rest.
func (a *Agent) Stop() error {
	var err error
	if a.cluster != nil {
		ctx, cancel := context.WithTimeout(context.Background(), a.cfg.DrainTimeout)
		err = a.cluster.Leave(ctx)
		cancel()
		if err != nil {
			a.log.Error().Err(err).Msg("leave incomplete")
		} else {
			a.log.Info().Msg("left the cluster: every key handed off")
		}
	}
	a.closeNow()
	a.release()
	return err
}

// Close closes everything at once, without handing keys off (their state
// is lost unless replicated). Idempotent.
func (a *Agent) Close() error {
	a.closeNow()
	a.release()
	return nil
}

// closeNow closes the node (no handoff) and the hidden client. Idempotent.
func (a *Agent) closeNow() {
	if a.svc != nil {
		_ = a.svc.close()
	}
	if a.cluster != nil {
		_ = a.cluster.Close()
	}
	if a.watch != nil {
		a.watch.stop()
	}
	if a.client != nil {
		_ = a.client.Close()
	}
}

// release stops the HTTP server and removes the names record.
func (a *Agent) release() {
	if a.http != nil {
		ctx, cancel := context.WithTimeout(context.Background(), httpStopTimeout)
		if err := a.http.close(ctx); err != nil {
			a.log.Debug().Err(err).Msg("admin http close")
		}
		cancel()
	}
	if a.rec.Name != "" {
		names.Remove(a.namesDir, a.rec.Name, a.rec.PID)
	}
}
