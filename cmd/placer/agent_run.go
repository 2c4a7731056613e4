package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/placement"
	"github.com/placerhq/placer/transport"

	"github.com/placerhq/placer/placement/agent/names"

	"github.com/placerhq/placer/placement/agent/cookie"
)

// agent is a running `placer agent`: a cluster node (or, with --hidden, a
// hidden client of the cluster), its admin HTTP server and its record in
// the names directory.
type agent struct {
	cfg      agentConfig
	log      zerolog.Logger
	level    *atomic.Int32
	namesDir string
	rec      names.Record

	cluster *placement.Cluster // nil when hidden
	client  *placement.Client  // hidden only
	http    *adminHTTP         // nil with --http off
	watch   *observer          // hidden only: logs the cluster's events
}

// httpStopTimeout bounds the admin HTTP server's shutdown.
const httpStopTimeout = 2 * time.Second

// startAgent starts everything cfg asks for and prints where it listens.
// On error, whatever was started is stopped again.
func startAgent(cfg agentConfig, stdout, stderr io.Writer) (*agent, error) {
	lvl, _ := zerolog.ParseLevel(cfg.LogLevel) // validated
	log, level := newAgentLogger(stderr, cfg.LogFormat, lvl)
	a := &agent{cfg: cfg, log: log.With().Str("component", "agent").Logger(), level: level, namesDir: names.Dir(cfg.NamesDir)}
	if err := a.checkName(); err != nil {
		return nil, err
	}
	tlsCfg, err := a.tlsConfig()
	if err != nil {
		return nil, err
	}
	if cfg.Hidden {
		err = a.startHidden(log, tlsCfg)
	} else {
		err = a.startMember(log, tlsCfg)
	}
	if err == nil {
		err = a.startHTTP(log)
	}
	if err == nil {
		err = names.Write(a.namesDir, a.rec)
	}
	if err != nil {
		a.closeNow()
		a.release()
		return nil, err
	}
	a.printStarted(stdout)
	return a, nil
}

// checkName fails early if a live agent of this host already has the name.
func (a *agent) checkName() error {
	if err := names.EnsureDir(a.namesDir); err != nil {
		return err
	}
	if rec, ok := names.Lookup(a.namesDir, a.cfg.Name); ok && rec.PID != os.Getpid() {
		return fmt.Errorf("node name %s is in use by pid %d (see `placer names`)", a.cfg.Name, rec.PID)
	}
	return nil
}

func (a *agent) tlsConfig() (*tls.Config, error) {
	if a.cfg.TLSCert == "" {
		return nil, nil
	}
	return transport.TLSFromFiles(a.cfg.TLSCert, a.cfg.TLSKey, a.cfg.TLSCA)
}

// loadCookie reads the cookie file, creating it if it is missing (a
// hidden agent never creates it: it would not match the cluster's).
func (a *agent) loadCookie() ([]byte, error) {
	if a.cfg.Hidden {
		return cookie.Read(a.cfg.CookieFile)
	}
	cookie, created, err := cookie.Ensure(a.cfg.CookieFile)
	if created {
		a.log.Info().Str("file", a.cfg.CookieFile).Msg("created a new cookie file (mode 0600); copy it to every host of the cluster")
	}
	return cookie, err
}

// startMember starts the cluster node.
func (a *agent) startMember(log zerolog.Logger, tlsCfg *tls.Config) error {
	cookie, err := a.loadCookie()
	if err != nil {
		return err
	}
	pc := placement.DefaultConfig()
	pc.Name, pc.Cookie, pc.Logger = a.cfg.Name, cookie, log
	pc.Transport = a.transportFactory(cookie, tlsCfg, log)
	pc.Kinds = agentKinds()
	pc.Weight, pc.Quorum = a.cfg.Weight, a.cfg.Quorum
	pc.JoinTimeout, pc.DrainTimeout = a.cfg.JoinTimeout, a.cfg.DrainTimeout
	pc.Membership.Profile = a.cfg.Profile
	pc.Membership.Join = a.cfg.Join
	pc.Membership.BindAddr, pc.Membership.BindPort = a.cfg.gossipBind()
	if a.cluster, err = placement.Start(pc); err != nil {
		return err
	}
	a.rec = names.Record{
		Name: a.cfg.Name, PID: os.Getpid(), Transport: a.cluster.Node().Addr(),
		Gossip: a.cluster.Membership().GossipAddr(), Started: time.Now().UTC(),
	}
	if err := a.cluster.Membership().JoinError(); err != nil {
		a.log.Warn().Err(err).Msg("join failed")
	}
	return nil
}

// transportFactory is the agent's TCP transport: --listen or the name's
// host, the --port-min/--port-max range, TLS, and the names directory as
// a resolver for nodes the gossip has not announced (epmd's role).
func (a *agent) transportFactory(cookie []byte, tlsCfg *tls.Config, log zerolog.Logger) node.TransportFactory {
	return func(p node.TransportParams, h transport.Handler) (transport.Transport, error) {
		tc := transport.DefaultConfig()
		tc.Name, tc.Cookie, tc.CookieFor, tc.Creation, tc.Hidden = p.Name, cookie, p.CookieFor, p.Creation, p.Hidden
		tc.ListenAddr, tc.PortMin, tc.PortMax = a.cfg.listenAddr(), a.cfg.PortMin, a.cfg.PortMax
		tc.TLS, tc.Logger = tlsCfg, log
		tc.Resolve = func(name string) (string, error) {
			if rec, ok := names.Lookup(a.namesDir, name); ok && rec.Transport != "" {
				return rec.Transport, nil
			}
			return "", nil
		}
		return transport.Listen(tc, h)
	}
}

// startHidden starts the hidden client and its event logger.
func (a *agent) startHidden(log zerolog.Logger, tlsCfg *tls.Config) error {
	cookie, err := a.loadCookie()
	if err != nil {
		return err
	}
	agents, err := resolveAgents(nil, a.cfg.Join, a.namesDir)
	if err != nil {
		return err
	}
	cc := placement.DefaultClientConfig()
	cc.Name, cc.Cookie, cc.Agents, cc.TLS, cc.Logger = a.cfg.Name, cookie, agents, tlsCfg, log
	cc.Discover = true // fail over to any member, not only the --join agents
	if a.client, err = placement.NewClient(cc); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), a.cfg.JoinTimeout+time.Second)
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

// startHTTP starts the admin HTTP server unless it is off.
func (a *agent) startHTTP(log zerolog.Logger) error {
	if a.cfg.HTTP == httpOff || a.cfg.HTTP == "" {
		return nil
	}
	var b adminBackend = a.client
	if a.cluster != nil {
		b = clusterBackend{a.cluster}
	}
	h, err := startAdminHTTP(a.cfg.HTTP, b, log.With().Str("component", "http").Logger())
	if err != nil {
		return err
	}
	a.http, a.rec.HTTP = h, h.Addr()
	return nil
}

// stop is the graceful stop: leave the cluster (every key handed off),
// then release the rest.
func (a *agent) stop() error {
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

// closeNow closes the node (no handoff) and the hidden client. Idempotent.
func (a *agent) closeNow() {
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
func (a *agent) release() {
	if a.http != nil {
		ctx, cancel := context.WithTimeout(context.Background(), httpStopTimeout)
		if err := a.http.Close(ctx); err != nil {
			a.log.Debug().Err(err).Msg("admin http close")
		}
		cancel()
	}
	if a.rec.Name != "" {
		names.Remove(a.namesDir, a.rec.Name, a.rec.PID)
	}
}

// observer logs the events a hidden agent sees until stopped.
type observer struct {
	cancel context.CancelFunc
	done   chan struct{}
}

func startObserver(cl *placement.Client, log zerolog.Logger) (*observer, error) {
	ctx, cancel := context.WithCancel(context.Background())
	events, err := cl.Watch(ctx)
	if err != nil {
		cancel()
		return nil, err
	}
	o := &observer{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(o.done)
		for ev := range events {
			if ev.Type == placement.WatchNodeUp || ev.Type == placement.WatchAgent {
				learnMembers(cl)
			}
			log.Info().Str("event", ev.Type).Str("node", ev.Node).Str("reason", ev.Reason).
				Uint64("epoch", ev.Epoch).Int("members", ev.Members).Str("agent", ev.Agent).Msg("cluster event")
		}
	}()
	return o, nil
}

// learnMembers refreshes the client's list of agents to fail over to.
func learnMembers(cl *placement.Client) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, _ = cl.Members(ctx)
}

// stop ends the observer and waits for its goroutine. Idempotent.
func (o *observer) stop() {
	o.cancel()
	<-o.done
}

// Compile-time checks: the backends the HTTP server reads.
var (
	_ adminBackend = (*placement.Client)(nil)
	_ adminBackend = clusterBackend{}
)
