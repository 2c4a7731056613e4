package placement_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/placement"
	"github.com/placerhq/placer/placement/placementtest"
	"github.com/placerhq/placer/transport"
)

// tcpClient starts a TCP client talking to agents (in that order).
func tcpClient(t *testing.T, cookie []byte, agents ...*placement.Cluster) *placement.Client {
	t.Helper()
	cfg := placement.DefaultClientConfig()
	cfg.Cookie, cfg.Logger, cfg.ConnectTimeout = cookie, testLogger(), time.Second
	for _, a := range agents {
		cfg.Agents = append(cfg.Agents, placement.AgentAddr{Name: a.Name(), Addr: a.Node().Addr()})
	}
	cl, err := placement.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cl.Close() })
	return cl
}

// nextEvent waits for the next watch event matching ok, skipping others.
func nextEvent(t *testing.T, ch <-chan placement.WatchEvent, what string, ok func(placement.WatchEvent) bool) placement.WatchEvent {
	t.Helper()
	timeout := time.After(serfTimeout)
	for {
		select {
		case ev, open := <-ch:
			if !open {
				t.Fatalf("watch closed waiting for %s", what)
			}
			if ok(ev) {
				return ev
			}
		case <-timeout:
			t.Fatalf("no %s event", what)
		}
	}
}

// TestClientSerfTCP: against a Serf cluster on TCP, a hidden client is
// listed only as hidden, sees the gossip status of every member, streams
// nodeup, view and nodedown events, and follows its agent's death to the
// next agent. A client with a wrong cookie is refused with ErrAuth.
func TestClientSerfTCP(t *testing.T) {
	t.Parallel()
	tc := newTestCluster(t, true, placementtest.Options{TCP: true})
	cs := tc.startN(3, nil)
	converged(t, serfTimeout, cs, 3)
	cl := tcpClient(t, tc.Cookie(), cs[0], cs[1])
	ctx := context.Background()

	ms, err := cl.Members(ctx)
	if err != nil || len(ms.Members) != 3 || len(ms.Hidden) != 1 || ms.Hidden[0] != cl.Node().Self() {
		t.Fatalf("members %+v %v", ms, err)
	}
	for _, m := range ms.Members {
		if m.Status != "alive" || !m.Ring || m.GossipAddr == "" || m.TransportAddr == "" || (m.Name == cs[0].Name() && !m.Connected) {
			t.Fatalf("member %+v", m)
		}
	}
	st, err := cl.Stats(ctx)
	if err != nil || st.Membership == nil || st.Membership.Alive != 3 || st.Runtime.HiddenPeers != 1 {
		t.Fatalf("stats %+v %v", st, err)
	}

	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events, err := cl.Watch(wctx)
	if err != nil {
		t.Fatal(err)
	}
	nextEvent(t, events, "agent", func(ev placement.WatchEvent) bool { return ev.Type == placement.WatchAgent && ev.Node == cs[0].Name() })
	c4 := tc.start(nil)
	nextEvent(t, events, "nodeup ct4", func(ev placement.WatchEvent) bool { return ev.Type == placement.WatchNodeUp && ev.Node == c4.Name() })
	nextEvent(t, events, "view of 4", func(ev placement.WatchEvent) bool { return ev.Type == placement.WatchView && ev.Members == 4 })
	if err := c4.Leave(ctx); err != nil {
		t.Fatal(err)
	}
	nextEvent(t, events, "nodedown ct4", func(ev placement.WatchEvent) bool {
		return ev.Type == placement.WatchNodeDown && ev.Node == c4.Name() && ev.Reason == "leave"
	})
	_ = cs[0].Close()
	nextEvent(t, events, "agent-down", func(ev placement.WatchEvent) bool {
		return ev.Type == placement.WatchAgentDown && ev.Node == cs[0].Name()
	})
	nextEvent(t, events, "agent ct2", func(ev placement.WatchEvent) bool { return ev.Type == placement.WatchAgent && ev.Node == cs[1].Name() })
	nextEvent(t, events, "nodedown ct1", func(ev placement.WatchEvent) bool {
		return ev.Type == placement.WatchNodeDown && ev.Node == cs[0].Name() && ev.Reason == "failed"
	})
	cancel()
	waitFor(t, 5*time.Second, func() bool {
		select {
		case _, open := <-events:
			return !open
		default:
			return false
		}
	}, "watch channel not closed after cancel")

	bad := tcpClient(t, []byte("another cookie that is long enough, 32+"), cs[1])
	_, err = bad.Connect(ctx)
	if !errors.Is(err, node.ErrNoConnection) || !errors.Is(err, transport.ErrAuth) {
		t.Fatalf("wrong cookie: %v", err)
	}
	t.Logf("wrong cookie error: %v", err)
}

// BenchmarkClientCall measures a keyed call from a hidden client through
// its agent (one admin rpc hop more) against the same call made on the
// agent itself, on TCP over 127.0.0.1, with the key owned by the agent
// and by the other node.
func BenchmarkClientCall(b *testing.B) {
	tc := newTestCluster(b, false, placementtest.Options{TCP: true})
	cs := tc.startN(2, nil)
	setView(cs, cs...)
	for _, n := range cs {
		for _, m := range cs {
			n.Node().SetAddr(m.Name(), m.Node().Addr())
		}
	}
	cfg := placement.DefaultClientConfig()
	cfg.Cookie, cfg.Agents = tc.Cookie(), []placement.AgentAddr{{Name: cs[0].Name(), Addr: cs[0].Node().Addr()}}
	cl, err := placement.NewClient(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	local, remote := "", ""
	for i := 0; local == "" || remote == ""; i++ {
		k := keyName(i)
		if cs[0].Owner(k) == cs[0].Name() {
			local = k
		} else {
			remote = k
		}
	}
	ctx := context.Background()
	for _, bc := range []struct {
		name string
		call func(key string) error
	}{
		{"cluster", func(key string) error { _, err := cs[0].Call(ctx, kindCounter, key, []byte("inc")); return err }},
		{"client", func(key string) error { _, err := cl.Call(ctx, kindCounter, key, []byte("inc")); return err }},
	} {
		for _, k := range []struct{ where, key string }{{"owner=agent", local}, {"owner=other", remote}} {
			b.Run(bc.name+"/"+k.where, func(b *testing.B) {
				for b.Loop() {
					if err := bc.call(k.key); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// TestClientFollowsRestartedAgents: agents restarted on other ports (a
// rolling restart) stay reachable: after a failover the client learns the
// new addresses from the agent it reached, and when none is reachable it
// looks them up again (ClientConfig.Resolve).
func TestClientFollowsRestartedAgents(t *testing.T) {
	t.Parallel()
	tc := newTestCluster(t, false, placementtest.Options{TCP: true})
	cs := tc.startN(2, nil)
	setView(cs, cs...)
	addrs := sync.Map{}
	cfg := tc.ClientConfig(cs...)
	cfg.Resolve = func(name string) (string, error) {
		if a, ok := addrs.Load(name); ok {
			return a.(string), nil
		}
		return "", nil
	}
	cl, err := placement.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx := context.Background()
	restart := func(p *placement.Cluster) *placement.Cluster {
		t.Helper()
		name := p.Name()
		if err := tc.Crash(p); err != nil {
			t.Fatal(err)
		}
		q, err := tc.AddNamed(name, nil)
		if err != nil {
			t.Fatal(err)
		}
		addrs.Store(name, q.Node().Addr())
		return q
	}
	n1 := restart(cs[0])
	setView([]*placement.Cluster{n1, cs[1]}, n1, cs[1])
	if _, err := cl.Members(ctx); err != nil { // fails over to n2
		t.Fatalf("after n1 restarted: %v", err)
	}
	n2 := restart(cs[1])
	setView([]*placement.Cluster{n1, n2}, n1, n2)
	if _, err := cl.Call(ctx, kindCounter, "k", []byte("inc")); err != nil {
		t.Fatalf("after both agents restarted on other ports: %v", err)
	}
}
