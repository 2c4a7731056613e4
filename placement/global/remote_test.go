package global_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/placement"
	"github.com/placerhq/placer/placement/global"
	"github.com/placerhq/placer/placement/placementtest"
)

// A hidden client holds a lock through a session on its agent: closing
// the client releases it; losing the agent reports the lock lost.
func TestRemoteLock(t *testing.T) {
	g := newCluster(t, placementtest.Options{Nodes: 3}, nil)
	ctx := ctxT(t)
	agent := g.Node(1)
	cl, err := placement.NewClient(g.ClientConfig(agent))
	if err != nil {
		t.Fatal(err)
	}
	r := global.NewRemote(cl)
	l, err := r.Lock(ctx, "remote-lock", time.Second)
	if err != nil || l.Token == 0 || l.Session.Node != agent.Name() {
		t.Fatalf("lock: %+v %v", l, err)
	}
	lockHeldBy(t, g, "remote-lock", l.Session)
	if _, err := r.Lock(ctx, "remote-lock", 0); err == nil {
		t.Fatal("a second lock through the agent was granted")
	}
	_ = cl.Close() // the session's watcher is gone: the lock is released
	lockHeldBy(t, g, "remote-lock", node.PID{})

	cl2, err := placement.NewClient(g.ClientConfig(agent))
	if err != nil {
		t.Fatal(err)
	}
	defer cl2.Close()
	l2, err := global.NewRemote(cl2).Lock(ctx, "remote-lock", time.Second)
	if err != nil || l2.Token <= l.Token {
		t.Fatalf("second lock: %+v %v (first token %d)", l2, err, l.Token)
	}
	if err := g.Crash(agent); err != nil {
		t.Fatal(err)
	}
	select {
	case reason := <-l2.Lost():
		t.Logf("lost: %v", l2.LostError(reason))
	case <-ctx.Done():
		t.Fatal("the lock was not reported lost when its agent crashed")
	}
	lockHeldBy(t, g, "remote-lock", node.PID{})
}

func lockHeldBy(t *testing.T, g *gcluster, id string, want node.PID) {
	t.Helper()
	eventually(t, func() error {
		l, err := g.svcAt(0).LockStatus(ctxBG(), id)
		if err != nil || l.Holder != want {
			return fmt.Errorf("lock %s: %+v %v, want holder %v", id, l, err, want)
		}
		return nil
	})
}

// Names, whereis, call, unregister and stats through an agent.
func TestRemoteNames(t *testing.T) {
	g := newCluster(t, placementtest.Options{Nodes: 2}, nil)
	ctx := ctxT(t)
	cl, err := placement.NewClient(g.ClientConfig(g.Node(0)))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	r := global.NewRemote(cl)
	pid, err := r.Start(ctx, global.StartArgs{Name: "svc", Kind: node.KindEcho, Node: g.Node(1).Name()})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := r.Whereis(ctx, "svc"); err != nil || n.PID != pid {
		t.Fatalf("whereis %+v %v", n, err)
	}
	if out, err := r.Call(ctx, "svc", []byte("hi")); err != nil || string(out) != "hi" {
		t.Fatalf("call %q %v", out, err)
	}
	if ns, err := r.Names(ctx); err != nil || len(ns) != 1 {
		t.Fatalf("names %+v %v", ns, err)
	}
	if err := r.Unregister(ctx, "svc"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Whereis(ctx, "svc"); err == nil {
		t.Fatal("whereis after unregister")
	}
	if st, err := r.Stats(ctx); err != nil || st.Registered == 0 && st.Names != 0 {
		t.Fatalf("stats %+v %v", st, err)
	}
}
