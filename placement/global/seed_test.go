package global_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/placement/global"
	"github.com/placerhq/placer/placement/placementtest"
)

// The seed's iex examples, over three nodes.

// :global.register_name({:todo_list, "bob"}, self()) answers :yes on
// node1, :no on node2; whereis_name on node2 gives node1's PID.
func TestSeedRegisterWhereis(t *testing.T) {
	g := newCluster(t, placementtest.Options{Nodes: 3}, nil)
	ctx := ctxT(t)
	shell1, shell2 := inbox(t, g.Node(0)), inbox(t, g.Node(1))
	if err := g.svcAt(0).RegisterName(ctx, "todo_list/bob", shell1.Self()); err != nil {
		t.Fatalf("node1 register: %v, want yes", err)
	}
	err := g.svcAt(1).RegisterName(ctx, "todo_list/bob", shell2.Self())
	var taken *global.TakenError
	if !errors.As(err, &taken) || !errors.Is(err, global.ErrNameTaken) || taken.Holder != shell1.Self() {
		t.Fatalf("node2 register: %v, want no naming %v", err, shell1.Self())
	}
	for i := range 3 {
		eventually(t, func() error {
			if pid, ok := g.svcAt(i).WhereisName("todo_list/bob"); !ok || pid != shell1.Self() {
				return fmt.Errorf("node%d whereis = %v %v", i+1, pid, ok)
			}
			return nil
		})
	}
	if got := g.svcAt(2).RegisteredNames(); len(got) != 1 || got[0] != "todo_list/bob" {
		t.Fatalf("registered names %v", got)
	}
}

// GenServer.start_link(..., name: {:global, alias}) then
// GenServer.call({:global, alias}, req).
func TestSeedStartAndCallByName(t *testing.T) {
	g := newCluster(t, placementtest.Options{Nodes: 3}, nil)
	ctx := ctxT(t)
	pid, err := g.svcAt(0).StartName(ctx, "some_global_alias", node.KindEcho, global.StartOpts{Node: g.Node(2).Name()})
	if err != nil || pid.Node != g.Node(2).Name() {
		t.Fatalf("start: %v %v", pid, err)
	}
	out, err := g.svcAt(1).CallName(ctx, "some_global_alias", []byte("request"))
	if err != nil || string(out) != "request" {
		t.Fatalf("call: %q %v", out, err)
	}
	_, err = g.svcAt(1).StartName(ctx, "some_global_alias", node.KindEcho, global.StartOpts{})
	if !errors.Is(err, global.ErrNameTaken) {
		t.Fatalf("second start: %v, want taken", err)
	}
}

// set_lock on node1, then set_lock on node2 hangs until node1's del_lock.
func TestSeedLockBlocksUntilDel(t *testing.T) {
	g := newCluster(t, placementtest.Options{Nodes: 3}, nil)
	ctx := ctxT(t)
	p1, p2 := inbox(t, g.Node(0)), inbox(t, g.Node(1))
	t1, err := g.svcAt(0).SetLock(ctx, "some_resource", p1.Self(), global.LockOpts{})
	if err != nil {
		t.Fatal(err)
	}
	type res struct {
		token uint64
		err   error
		at    time.Time
	}
	done := make(chan res, 1)
	go func() {
		tok, err := g.svcAt(1).SetLock(ctx, "some_resource", p2.Self(), global.LockOpts{Timeout: 5 * time.Second})
		done <- res{tok, err, time.Now()}
	}()
	eventually(t, func() error { // node2 waits in the queue
		l, err := g.svcAt(2).LockStatus(ctx, "some_resource")
		if err != nil || len(l.Waiters) != 1 || l.Waiters[0].Requester != p2.Self() {
			return fmt.Errorf("status %+v %v", l, err)
		}
		return nil
	})
	select {
	case r := <-done:
		t.Fatalf("second set_lock returned before del_lock: %+v", r)
	default:
	}
	released := time.Now()
	if err := g.svcAt(0).DelLock(ctx, "some_resource", p1.Self()); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil || r.token <= t1 || r.at.Before(released) {
		t.Fatalf("second set_lock: %+v (first token %d)", r, t1)
	}
}

// :global.trans runs its function under the lock, with a fresh token.
func TestSeedTrans(t *testing.T) {
	g := newCluster(t, placementtest.Options{Nodes: 3}, nil)
	ctx := ctxT(t)
	var inside global.LockInfo
	err := g.svcAt(1).Trans(ctx, "some_resource", node.PID{}, func(token uint64) error {
		var err error
		inside, err = g.svcAt(0).LockStatus(ctx, "some_resource")
		if err == nil && inside.Token != token {
			err = fmt.Errorf("token %d, status says %d", token, inside.Token)
		}
		return err
	}, global.LockOpts{Timeout: time.Second})
	if err != nil || inside.Holder.IsZero() {
		t.Fatalf("trans: %v, lock inside: %+v", err, inside)
	}
	after, err := g.svcAt(2).LockStatus(ctx, "some_resource")
	if err != nil || !after.Holder.IsZero() {
		t.Fatalf("after trans: %+v %v", after, err)
	}
}
