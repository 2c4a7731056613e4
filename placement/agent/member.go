package agent

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"time"

	"github.com/placerhq/placer/placement"
	"github.com/placerhq/placer/placement/agent/cookie"
	"github.com/placerhq/placer/placement/agent/names"
	"github.com/placerhq/placer/placement/membership"
)

// snapshotFile is Serf's snapshot inside Config.DataDir.
const snapshotFile = "serf.snapshot"

// failedStartLeave bounds the graceful leave of a member whose start
// failed after it joined.
const failedStartLeave = 5 * time.Second

// loadCookie reads the member's cookie file. Only a bootstrapping member
// creates a missing one: a fresh random cookie could never join an
// existing cluster, it would only make an island.
func (a *Agent) loadCookie() ([]byte, error) {
	if !a.cfg.bootstrapping() {
		secret, err := cookie.Read(a.cfg.CookieFile)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w at %s: an agent that joins a cluster never creates one; copy the cluster's cookie file here (mode 0600), or start a new cluster without --join (or with --bootstrap): %w",
				ErrNoCookie, a.cfg.CookieFile, err)
		}
		return secret, err
	}
	secret, created, err := cookie.Ensure(a.cfg.CookieFile)
	if created {
		a.log.Info().Str("file", a.cfg.CookieFile).Msg("created a new cookie file (mode 0600); copy it to every host of the cluster")
	}
	return secret, err
}

// startMember starts the cluster node and checks that it joined.
func (a *Agent) startMember() error {
	secret, err := a.loadCookie()
	if err != nil {
		return err
	}
	if a.svc, err = newServices(a.cfg); err != nil {
		return err
	}
	pc, err := a.placementConfig(secret)
	if err != nil {
		return err
	}
	if a.cluster, err = placement.Start(pc); err != nil {
		return err
	}
	if err := a.svc.start(a.cluster); err != nil {
		_ = a.cluster.Close()
		a.cluster = nil
		return err
	}
	a.rec = names.Record{
		Name: a.cfg.Name, PID: os.Getpid(), Transport: a.cluster.Node().Addr(),
		Gossip: a.cluster.Membership().GossipAddr(), Started: time.Now().UTC(),
	}
	if err := a.checkJoined(); err != nil {
		_ = a.cluster.Close()
		a.cluster = nil
		return err
	}
	a.checkAlone()
	return nil
}

// placementConfig is the member's cluster config: the TCP transport on
// Listen (or the port range), with TLS and the names directory as a
// resolver for nodes the gossip has not announced (epmd's role), and
// Serf's snapshot in DataDir.
func (a *Agent) placementConfig(secret []byte) (placement.Config, error) {
	c := a.cfg
	pc := placement.DefaultConfig()
	pc.Name, pc.Cookie, pc.Logger = c.Name, secret, c.Logger
	pc.ListenAddr, pc.PortMin, pc.PortMax, pc.TLS = c.listenAddr(), c.PortMin, c.PortMax, c.TLS
	pc.Resolve = names.Resolver(a.namesDir)
	pc.Kinds = Kinds()
	maps.Copy(pc.Kinds, c.Kinds)
	a.svc.configure(&pc)
	pc.CheckMessage = checkMessage
	pc.Weight, pc.Quorum, pc.Bootstrap = c.Weight, c.Quorum, c.Bootstrap
	pc.Strategy, pc.LoadFactor = c.Strategy, c.LoadFactor
	pc.KindSpecs = map[string]placement.KindSpec{
		KindCounter: {Replicas: c.Replicas}, KindKV: {Replicas: c.Replicas},
	}
	pc.JoinTimeout, pc.DrainTimeout = c.JoinTimeout, c.DrainTimeout
	pc.Membership.Profile, pc.Membership.Join = c.Profile, c.Join
	pc.Membership.BindAddr, pc.Membership.BindPort = c.gossipBind()
	if c.DataDir != "" {
		if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
			return pc, fmt.Errorf("data dir: %w", err)
		}
		pc.Membership.SnapshotPath = filepath.Join(c.DataDir, snapshotFile)
		pc.Membership.RejoinAfterLeave = true
	}
	return pc, nil
}

// checkJoined fails a member with a join list that has not joined within
// JoinTimeout (placement.Start waited that long), naming the likely cause.
func (a *Agent) checkJoined() error {
	mem := a.cluster.Membership()
	if len(a.cfg.Join) == 0 || a.cfg.Bootstrap || a.cfg.JoinTimeout < 0 || len(mem.Alive()) > 1 {
		return nil
	}
	select {
	case <-mem.Joined():
		return nil
	default:
	}
	last := mem.LastJoinError()
	cause := membership.JoinCause(last)
	if cause == "" {
		cause = "no member answered"
	}
	err := fmt.Errorf("%w within --join-timeout %v: %s (join %v; last error: %v); to start a new cluster instead, run without --join or with --bootstrap",
		ErrJoin, a.cfg.JoinTimeout, cause, a.cfg.Join, last)
	a.log.Error().Err(err).Msg("not joined")
	return err
}

// checkAlone waits (up to JoinTimeout) for one of the members the snapshot
// remembers, and warns loudly if none came back: this node may be a
// one-node island beside its old cluster.
func (a *Agent) checkAlone() {
	mem := a.cluster.Membership()
	prev := mem.PreviousPeers()
	if len(prev) == 0 {
		return
	}
	deadline := time.Now().Add(a.cfg.JoinTimeout)
	for len(mem.Alive()) < 2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if len(mem.Alive()) > 1 {
		a.log.Info().Int("previous_peers", len(prev)).Msg("rejoined the cluster from the data dir")
		return
	}
	peers := make([]string, len(prev))
	for i, p := range prev {
		peers[i] = p.Name + " " + p.Addr
	}
	a.log.Error().Strs("previous_peers", peers).Str("data_dir", a.cfg.DataDir).
		Msg("ALONE: this node had peers before its restart and reached none of them; it serves every key by itself (a split brain if they are up elsewhere): check the network, or give --join")
}

// leaveAfter handles a start that failed after the node started: a member
// leaves gracefully (its departure is gossiped, so it is dropped from the
// quorum's full membership rather than counted as failed), then err is
// returned; Start's caller releases the rest.
func (a *Agent) leaveAfter(err error) error {
	if a.cluster == nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), failedStartLeave)
	defer cancel()
	if lerr := a.cluster.Leave(ctx); lerr != nil {
		a.log.Warn().Err(lerr).Msg("leave after a failed start")
	}
	return err
}
