package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/placement/global"
)

// Step 8: global locks (:global.set_lock, del_lock, trans), with fencing
// tokens.

const demoLock = "some_resource" // the seed's {:some_resource, self()}

// stepLocks: node1 takes the lock; node2's set_lock waits until node1's
// del_lock; trans runs a function under the lock; tokens only grow.
func stepLocks(ctx context.Context, d *demo) error {
	n1, n2 := d.nodes[0], d.nodes[1]
	shell1, shell2, err := demoShells(n1, n2)
	if err != nil {
		return err
	}
	defer shell1.Close()
	defer shell2.Close()
	t1, err := d.setLock(ctx, n1, shell1.Self())
	if err != nil {
		return err
	}
	t2, err := d.blockedSetLock(ctx, n1, n2, shell1.Self(), shell2.Self())
	if err != nil {
		return err
	}
	if err := n2.g.DelLock(ctx, demoLock, shell2.Self()); err != nil {
		return err
	}
	t3, err := d.trans(ctx, n1)
	if err != nil {
		return err
	}
	d.note("fencing tokens, in grant order: %d < %d < %d (HLC timestamps of the lock's authority)", t1, t2, t3)
	if !(t1 < t2 && t2 < t3) {
		return fmt.Errorf("%w: tokens %d %d %d do not grow", ErrCheck, t1, t2, t3)
	}
	return nil
}

func (d *demo) setLock(ctx context.Context, n1 *demoNode, shell node.PID) (uint64, error) {
	d.note("the lock's authority is the ring owner of %q: %s", demoLock, n1.c.Owner(demoLock))
	d.iex(n1.name, ":global.set_lock({:some_resource, self()})")
	d.placer("g1.SetLock(ctx, %q, shell1.Self(), global.LockOpts{Timeout: global.Forever})", demoLock)
	start := time.Now()
	token, err := n1.g.SetLock(ctx, demoLock, shell, global.LockOpts{Timeout: global.Forever})
	took := float64(time.Since(start).Microseconds())
	if err != nil {
		return 0, err
	}
	d.result("true   # fencing token %d, in %.0f µs", token, took)
	d.fig("lock_set_us", took, "µs", "set_lock of a free lock from node1")
	return token, nil
}

// blockedSetLock: node2's set_lock waits in the queue until node1's
// del_lock; the handover is timed.
func (d *demo) blockedSetLock(ctx context.Context, n1, n2 *demoNode, shell1, shell2 node.PID) (uint64, error) {
	d.iex(n2.name, ":global.set_lock({:some_resource, self()})")
	d.placer("g2.SetLock(ctx, %q, shell2.Self(), global.LockOpts{Timeout: global.Forever})", demoLock)
	type got struct {
		token uint64
		err   error
		at    time.Time
	}
	done := make(chan got, 1)
	go func() {
		tok, err := n2.g.SetLock(ctx, demoLock, shell2, global.LockOpts{Timeout: global.Forever})
		done <- got{tok, err, time.Now()}
	}()
	if err := d.waitFor(ctx, "node2 queued for the lock", func() bool {
		l, err := n1.g.LockStatus(ctx, demoLock)
		return err == nil && len(l.Waiters) == 1
	}); err != nil {
		return 0, err
	}
	d.result("# node2 hangs until node1 releases the lock (it waits in the lock's queue)")
	d.iex(n1.name, ":global.del_lock({:some_resource, self()})")
	d.placer("g1.DelLock(ctx, %q, shell1.Self())", demoLock)
	start := time.Now()
	if err := n1.g.DelLock(ctx, demoLock, shell1); err != nil {
		return 0, err
	}
	r := <-done
	if r.err != nil {
		return 0, r.err
	}
	handover := float64(r.at.Sub(start).Microseconds())
	d.result("true   # node2's set_lock returned %.0f µs after del_lock, fencing token %d", handover, r.token)
	d.fig("lock_handover_us", handover, "µs", "del_lock on node1 until node2's waiting set_lock returns")
	return r.token, nil
}

// trans: :global.trans runs the function under the lock.
func (d *demo) trans(ctx context.Context, n1 *demoNode) (uint64, error) {
	d.iex(n1.name, "def process(large_data), do: :global.trans({:some_resource, self()}, fn -> do_something_with(large_data) end)")
	d.placer("g1.Trans(ctx, %q, node.PID{}, func(token uint64) error { ... }, global.LockOpts{Timeout: time.Second})", demoLock)
	var token uint64
	var holder node.PID
	start := time.Now()
	err := n1.g.Trans(ctx, demoLock, node.PID{}, func(t uint64) error {
		token = t
		l, err := n1.g.LockStatus(ctx, demoLock)
		holder = l.Holder
		return err
	}, global.LockOpts{Timeout: time.Second})
	took := float64(time.Since(start).Microseconds())
	if err != nil {
		return 0, err
	}
	d.result("the function ran holding the lock (holder #PID%s, token %d); %.0f µs in all", holder, token, took)
	d.fig("lock_trans_us", took, "µs", "trans: set_lock, the function (one status call), del_lock")
	return token, nil
}
