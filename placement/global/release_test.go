package global_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/placement"
	"github.com/placerhq/placer/placement/global"
	"github.com/placerhq/placer/placement/placementtest"
)

// nameEverywhere waits until every live node's replica shows want for name
// (zero: not registered).
func nameEverywhere(t *testing.T, g *gcluster, name string, want node.PID) {
	t.Helper()
	eventually(t, func() error {
		for _, c := range g.Nodes() {
			pid, _ := g.svc(c).WhereisName(name)
			if pid != want {
				return fmt.Errorf("%s: whereis %q = %v, want %v", c.Name(), name, pid, want)
			}
		}
		return nil
	})
}

// A name is released when its process exits: on every node.
func TestNameReleasedOnExit(t *testing.T) {
	g := newCluster(t, placementtest.Options{Nodes: 3}, nil)
	ctx := ctxT(t)
	ib := inbox(t, g.Node(1))
	if err := g.svcAt(0).RegisterName(ctx, "worker", ib.Self()); err != nil {
		t.Fatal(err)
	}
	nameEverywhere(t, g, "worker", ib.Self())
	ib.Close()
	nameEverywhere(t, g, "worker", node.PID{})
	if _, err := g.svcAt(2).ResolveName(ctx, "worker"); !errors.Is(err, global.ErrNoProc) {
		t.Fatalf("resolve after exit: %v", err)
	}
	other := inbox(t, g.Node(2)) // the name is free again
	if err := g.svcAt(2).RegisterName(ctx, "worker", other.Self()); err != nil {
		t.Fatal(err)
	}
}

// A lock is released when its holder exits; the next waiter gets it.
func TestLockReleasedOnExit(t *testing.T) {
	g := newCluster(t, placementtest.Options{Nodes: 3}, nil)
	ctx := ctxT(t)
	holder, waiter := inbox(t, g.Node(0)), inbox(t, g.Node(2))
	t1, err := g.svcAt(0).SetLock(ctx, "res", holder.Self(), global.LockOpts{})
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	var t2 uint64
	go func() {
		var err error
		t2, err = g.svcAt(2).SetLock(ctx, "res", waiter.Self(), global.LockOpts{Timeout: global.Forever})
		got <- err
	}()
	eventually(t, func() error { return waiters(g, "res", 1) })
	holder.Close()
	if err := <-got; err != nil || t2 <= t1 {
		t.Fatalf("waiter: token %d (first %d), %v", t2, t1, err)
	}
}

func waiters(g *gcluster, id string, n int) error {
	l, err := g.svcAt(0).LockStatus(ctxBG(), id)
	if err != nil || len(l.Waiters) != n {
		return fmt.Errorf("lock %s: %+v %v, want %d waiters", id, l, err, n)
	}
	return nil
}

// Node loss releases the names and locks of its processes, and a monitor
// on a global name's process sees DOWN noconnection (the seed's "Links and
// monitors" example).
func TestNodeLossReleases(t *testing.T) {
	g := newCluster(t, placementtest.Options{Nodes: 3}, nil)
	ctx := ctxT(t)
	n2 := g.Node(1)
	shell := inbox(t, n2)
	if err := g.svc(n2).RegisterName(ctx, "todo_list/bob", shell.Self()); err != nil {
		t.Fatal(err)
	}
	if _, err := g.svc(n2).SetLock(ctx, "res", shell.Self(), global.LockOpts{}); err != nil {
		t.Fatal(err)
	}
	nameEverywhere(t, g, "todo_list/bob", shell.Self())
	watcher := inbox(t, g.Node(0))
	pid, _ := g.svcAt(0).WhereisName("todo_list/bob")
	ref := watcher.Monitor(pid)
	if err := g.Crash(n2); err != nil {
		t.Fatal(err)
	}
	m, err := watcher.Receive(ctx)
	if d, ok := m.(node.Down); err != nil || !ok || d.Ref != ref || d.Reason.Kind != node.NoConnection {
		t.Fatalf("monitor: %#v %v, want DOWN noconnection", m, err)
	}
	nameEverywhere(t, g, "todo_list/bob", node.PID{})
	eventually(t, func() error {
		l, err := g.svcAt(0).LockStatus(ctx, "res")
		if err != nil || !l.Holder.IsZero() {
			return fmt.Errorf("lock after node loss: %+v %v", l, err)
		}
		return nil
	})
}

// A name follows its process when the process is handed off (a keyed
// process that moves to a new owner: DOWN handoff with the new PID).
func TestNameFollowsHandoff(t *testing.T) {
	g := newCluster(t, placementtest.Options{Nodes: 2}, nil)
	ctx := ctxT(t)
	keys := placementtest.KeyNames(64)
	if _, err := placementtest.CreateKeys(ctx, g.Nodes(), placementtest.KindCounter, keys); err != nil {
		t.Fatal(err)
	}
	pids := map[string]node.PID{}
	for _, k := range keys {
		pid, err := g.Node(0).Whereis(ctx, placementtest.KindCounter, k)
		if err != nil {
			t.Fatal(err)
		}
		pids[k] = pid
		if err := g.svcAt(0).RegisterName(ctx, "counter/"+k, pid); err != nil {
			t.Fatal(err)
		}
	}
	c3, _ := g.add("")
	placementtest.CheckFor(t, 5*time.Second, func() error { return placementtest.Settled(g.Nodes(), placementtest.KindCounter) })
	moved := 0
	for _, k := range keys {
		now, _ := g.Node(0).Whereis(ctx, placementtest.KindCounter, k)
		if now.Node == c3.Name() {
			moved++
			nameEverywhere(t, g, "counter/"+k, now)
		}
	}
	if moved == 0 {
		t.Fatal("no key moved to the new node")
	}
}

// Bad input gets a typed error and changes nothing.
func TestBadInput(t *testing.T) {
	g := newCluster(t, placementtest.Options{Nodes: 2}, nil)
	ctx := ctxT(t)
	s := g.svcAt(0)
	ib := inbox(t, g.Node(0))
	dead := inbox(t, g.Node(1))
	dead.Close()
	long := string(make([]byte, global.MaxNameLen+1))
	for _, tc := range []struct {
		name string
		pid  node.PID
		want error
	}{
		{"", ib.Self(), global.ErrBadName},
		{long, ib.Self(), global.ErrBadName},
		{"\xff", ib.Self(), global.ErrBadName},
		{"x", node.PID{}, global.ErrBadPID},
		{"x", node.PID{Node: g.Node(0).Name()}, global.ErrBadPID},
		{"x", node.PID{Node: "nosuch@127.0.0.1", ID: 7, Creation: 1}, global.ErrUnknownNode},
		{"x", dead.Self(), global.ErrNoProc},
	} {
		if err := s.RegisterName(ctx, tc.name, tc.pid); !errors.Is(err, tc.want) {
			t.Errorf("RegisterName(%q, %v) = %v, want %v", tc.name, tc.pid, err, tc.want)
		}
	}
	if _, err := s.SetLock(ctx, "x", dead.Self(), global.LockOpts{}); !errors.Is(err, global.ErrNotLocal) {
		t.Errorf("SetLock of a remote pid: %v", err)
	}
	if err := s.DelLock(ctx, "x", ib.Self()); !errors.Is(err, global.ErrNotHeld) {
		t.Errorf("DelLock not held: %v", err)
	}
	if err := s.UnregisterName(ctx, "x"); !errors.Is(err, global.ErrNotRegistered) {
		t.Errorf("UnregisterName: %v", err)
	}
	for _, c := range g.Nodes() {
		if names := g.svc(c).RegisteredNames(); len(names) != 0 {
			t.Errorf("%s: names %v after bad input", c.Name(), names)
		}
	}
}

// Nested SetLock is counted; a second requester waits until the last
// DelLock; the nested grant keeps its token.
func TestLockNested(t *testing.T) {
	g := newCluster(t, placementtest.Options{Nodes: 2}, nil)
	ctx := ctxT(t)
	a, b := inbox(t, g.Node(0)), inbox(t, g.Node(1))
	s := g.svcAt(0)
	t1, err1 := s.SetLock(ctx, "n", a.Self(), global.LockOpts{})
	t2, err2 := s.SetLock(ctx, "n", a.Self(), global.LockOpts{})
	if err1 != nil || err2 != nil || t1 != t2 {
		t.Fatalf("nested: %d %v, %d %v", t1, err1, t2, err2)
	}
	if _, err := g.svcAt(1).SetLock(ctx, "n", b.Self(), global.LockOpts{}); !errors.Is(err, global.ErrLockBusy) {
		t.Fatalf("other requester: %v, want busy", err)
	}
	if err := s.DelLock(ctx, "n", a.Self()); err != nil {
		t.Fatal(err)
	}
	if _, err := g.svcAt(1).SetLock(ctx, "n", b.Self(), global.LockOpts{Retries: 1}); !errors.Is(err, global.ErrLockBusy) {
		t.Fatalf("after one of two DelLocks: %v, want busy", err)
	}
	if err := s.DelLock(ctx, "n", a.Self()); err != nil {
		t.Fatal(err)
	}
	t3, err := g.svcAt(1).SetLock(ctx, "n", b.Self(), global.LockOpts{})
	if err != nil || t3 <= t1 {
		t.Fatalf("after both DelLocks: %d %v", t3, err)
	}
}

// Waiters are served first come, first served; a waiter that gives up
// leaves the queue.
func TestLockFIFO(t *testing.T) {
	g := newCluster(t, placementtest.Options{Nodes: 3}, nil)
	ctx := ctxT(t)
	holder := inbox(t, g.Node(0))
	if _, err := g.svcAt(0).SetLock(ctx, "q", holder.Self(), global.LockOpts{}); err != nil {
		t.Fatal(err)
	}
	order := make(chan int, 4)
	var ibs []*node.Inbox
	for i := range 4 {
		c := g.Node(i % 3)
		ib := inbox(t, c)
		ibs = append(ibs, ib)
		go func() {
			if _, err := g.svc(c).SetLock(ctx, "q", ib.Self(), global.LockOpts{Timeout: global.Forever}); err == nil {
				order <- i
				_ = g.svc(c).DelLock(ctx, "q", ib.Self())
			}
		}()
		eventually(t, func() error { return waiters(g, "q", i+1) })
	}
	if _, err := g.svcAt(1).SetLock(ctx, "q", inbox(t, g.Node(1)).Self(), global.LockOpts{Timeout: 50 * time.Millisecond}); !errors.Is(err, global.ErrLockTimeout) {
		t.Fatalf("short wait: %v, want timeout", err)
	}
	if err := g.svcAt(0).DelLock(ctx, "q", holder.Self()); err != nil {
		t.Fatal(err)
	}
	for want := range 4 {
		if got := <-order; got != want {
			t.Fatalf("grant %d went to waiter %d", want, got)
		}
	}
	_ = ibs
}

var _ = placement.ErrNoQuorum
