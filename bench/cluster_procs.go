package bench

import (
	"context"
	"fmt"
	"syscall"
	"time"

	"github.com/placerhq/placer/internal/agentproc"
	"github.com/placerhq/placer/internal/poll"
	"github.com/placerhq/placer/placement"
	"github.com/placerhq/placer/placement/agent"
)

// The replication phases that need real processes (SIGKILL, SIGSTOP, a
// restart): Nodes `placer agent` processes of ClusterConfig.Placer on
// 127.0.0.1 (local profile), kv with R = 2, Keys keys, Senders writers
// through a client. Every acknowledged write is recorded and looked for
// afterwards (each write adds a field of its own to its key, so a write
// overwritten later still shows if it was lost).

// procWriteTimeout bounds one write; a write that fails is known to its
// writer and not counted as acknowledged.
const procWriteTimeout = 3 * time.Second

// procCheckTimeout bounds reading every key back.
const procCheckTimeout = 2 * time.Minute

// procPhase is one process phase's cluster, client and writers.
type procPhase struct {
	c  *agentproc.Cluster
	cl *placement.Client
	w  *agentproc.KVWriters
}

// startProcPhase starts the agents with R = 2, a client of the first
// clientNodes agents (of any agent if 0) and the writers, and waits until
// every key has its two copies.
func startProcPhase(ctx context.Context, cfg ClusterConfig, prefix string, clientNodes int) (*procPhase, error) {
	c, err := agentproc.Start(ctx, agentproc.Config{Bin: cfg.Placer, Prefix: prefix, Flags: []string{"--replicas", "2"}}, cfg.Nodes)
	if err != nil {
		return nil, err
	}
	p := &procPhase{c: c}
	var via []string
	for i := 1; i <= clientNodes; i++ {
		via = append(via, c.Name(i))
	}
	if p.cl, err = c.Client(procWriteTimeout, via...); err != nil {
		p.close()
		return nil, err
	}
	keys := agentproc.KVKeys(cfg.Keys)
	p.w = agentproc.StartKVWriters(p.cl, keys, cfg.Senders, procWriteTimeout)
	cfg.progress(fmt.Sprintf("%s: %d agents up; writing %d keys (R = 2)", prefix, cfg.Nodes, len(keys)))
	if err := p.waitCopies(ctx, keys, 2); err != nil {
		p.close()
		return nil, err
	}
	return p, nil
}

func (p *procPhase) close() {
	if p.w != nil {
		p.w.Halt()
	}
	if p.cl != nil {
		_ = p.cl.Close()
	}
	p.c.Close()
}

// fail wraps err with the agents' log tails.
func (p *procPhase) fail(err error) error {
	return fmt.Errorf("%w\nagent logs (tail):\n%s", err, p.c.Logs(1500))
}

// waitCopies waits until each of keys has r copies (a process or a backup)
// on distinct running agents.
func (p *procPhase) waitCopies(ctx context.Context, keys []string, r int) error {
	return clusterCheck(ctx, clusterSettleTimeout, func() error { return p.c.CheckCopies(ctx, agent.KindKV, keys, r) })
}

// primaries returns the kv keys whose process runs on agent name.
func (p *procPhase) primaries(ctx context.Context, name string) ([]string, error) {
	hosted, err := p.c.Hosted(ctx, name)
	if err != nil {
		return nil, err
	}
	var keys []string
	for _, h := range hosted {
		if h.Kind == agent.KindKV && h.Role == placement.RolePrimary {
			keys = append(keys, h.Key)
		}
	}
	return keys, nil
}

// check reads every key back and returns what it found.
func (p *procPhase) check(ctx context.Context, mark int64) (agentproc.KVCheck, error) {
	return p.w.Check(ctx, p.cl, 16, mark, procCheckTimeout)
}

// clusterReplKill: SIGKILL of the agent of a non-client node under
// writes; every key of the dead node must be served again and R copies
// restored; no acknowledged write may be missing.
func clusterReplKill(ctx context.Context, cfg ClusterConfig, res *ClusterResult) error {
	p, err := startProcPhase(ctx, cfg, "rk", 2)
	if err != nil {
		return err
	}
	defer p.close()
	names := p.c.Names()
	victim := names[len(names)-1]
	keys, err := p.primaries(ctx, victim)
	if err != nil {
		return p.fail(err)
	}
	res.KillReplKeys = len(keys)
	cfg.progress(fmt.Sprintf("repl kill: SIGKILL of an agent hosting %d primaries", len(keys)))
	mark := p.w.Acked()
	killed := time.Now()
	if err := p.c.Kill(ctx, victim); err != nil {
		return p.fail(err)
	}
	copies := make(chan error, 1)
	go func() {
		err := p.waitCopies(ctx, agentproc.KVKeys(cfg.Keys), 2)
		res.RereplicatedMS = clusterMS(time.Since(killed))
		copies <- err
	}()
	took, err := agentproc.Served(ctx, p.cl, keys, 32, killed, clusterSettleTimeout)
	res.KillReplReownedMS = clusterMS(took)
	if cerr := <-copies; err == nil {
		err = cerr
	}
	if err == nil {
		err = p.w.Flowing(ctx, 500, clusterSettleTimeout)
	}
	if err != nil {
		return p.fail(err)
	}
	cfg.progress("repl kill: reading every key back")
	chk, err := p.check(ctx, mark)
	if err != nil {
		return p.fail(err)
	}
	res.KillAckedWrites, res.KillLostAckedWrites = mark, chk.LostBefore
	res.KillAfterAckedWrites, res.KillAfterLostAckedWrites = chk.Acked-mark, chk.Lost-chk.LostBefore
	res.KillFailedWrites, res.KillFirstLost = p.w.Failed(), chk.First
	return nil
}

// clusterRollingRestart: every agent in turn gets SIGTERM (a graceful
// leave), is started again under its name and rejoins, under writes.
func clusterRollingRestart(ctx context.Context, cfg ClusterConfig, res *ClusterResult) error {
	p, err := startProcPhase(ctx, cfg, "rr", 0)
	if err != nil {
		return err
	}
	defer p.close()
	names := p.c.Names()
	start := time.Now()
	for i := len(names) - 1; i >= 0; i-- {
		name := names[i]
		cfg.progress(fmt.Sprintf("rolling restart: %s (%d of %d)", name, len(names)-i, len(names)))
		if i == 0 {
			if err := p.c.Reseed(names[1]); err != nil {
				return p.fail(err)
			}
		}
		if err := p.c.Term(ctx, name, 60*time.Second); err != nil {
			return p.fail(err)
		}
		if err := p.c.Start(ctx, name); err != nil {
			return p.fail(err)
		}
		if err := p.c.WaitMembers(ctx, len(names)); err != nil {
			return p.fail(err)
		}
		if err := p.w.Flowing(ctx, 300, clusterSettleTimeout); err != nil {
			return p.fail(err)
		}
	}
	res.RollingRestartMS = clusterMS(time.Since(start))
	cfg.progress("rolling restart: reading every key back")
	chk, err := p.check(ctx, 0)
	if err != nil {
		return p.fail(err)
	}
	res.RollingRestartAckedWrites, res.RollingRestartLostAckedWrites = chk.Acked, chk.Lost
	res.RollingRestartFailedWrites, res.RollingRestartFirstLost = p.w.Failed(), chk.First
	return nil
}

// clusterPause: SIGSTOP of a non-client agent for 3 s under writes (a
// GC, VM or disk stall: longer than failure detection, so the others
// declare it failed and promote its keys), then SIGCONT.
func clusterPause(ctx context.Context, cfg ClusterConfig, res *ClusterResult) error {
	p, err := startProcPhase(ctx, cfg, "rs", 2)
	if err != nil {
		return err
	}
	defer p.close()
	names := p.c.Names()
	victim := p.c.Proc(names[len(names)-1])
	cfg.progress("pause: SIGSTOP of an agent for 3 s")
	if err := victim.Signal(syscall.SIGSTOP); err != nil {
		return p.fail(err)
	}
	stopped := time.Now()
	err = poll.Until(ctx, clusterSettleTimeout, func() error {
		st, err := p.c.Status(ctx, names[0], victim.Name)
		if err == nil && st != "failed" {
			err = fmt.Errorf("%s is %q, not failed yet", victim.Name, st)
		}
		return err
	})
	res.PauseDetectedMS = clusterMS(time.Since(stopped))
	if err == nil {
		err = clusterWait(ctx, clusterSettleTimeout, "3 s of pause", func() bool { return time.Since(stopped) >= 3*time.Second })
	}
	if cerr := victim.Signal(syscall.SIGCONT); err == nil {
		err = cerr
	}
	if err == nil {
		err = p.c.WaitMembers(ctx, len(names))
	}
	if err == nil {
		err = p.w.Flowing(ctx, 500, clusterSettleTimeout)
	}
	if err != nil {
		return p.fail(err)
	}
	cfg.progress("pause: reading every key back")
	chk, err := p.check(ctx, 0)
	if err != nil {
		return p.fail(err)
	}
	res.PauseAckedWrites, res.PauseLostAckedWrites = chk.Acked, chk.Lost
	res.PauseFailedWrites, res.PauseFirstLost = p.w.Failed(), chk.First
	return nil
}
