package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/placement/global"
	"github.com/placerhq/placer/placement/placementtest"
)

// globalRun holds what measureGlobalOps needs: an echo process on the
// second node, a keyed process owned by another node than the first, and
// the inboxes that hold the names and take the lock on the first.
type globalRun struct {
	g              *globalNet
	echo           node.PID
	key            string
	holder, locker *node.Inbox
}

func newGlobalRun(ctx context.Context, g *globalNet) (*globalRun, error) {
	n0 := g.Node(0).Node()
	r := &globalRun{g: g}
	var err error
	if r.echo, err = n0.SpawnOn(ctx, g.Node(1).Name(), node.KindEcho, nil, node.SpawnOpts{}); err != nil {
		return nil, err
	}
	for i := 0; r.key == ""; i++ {
		if k := placementtest.KeyName(i); g.Node(0).Owner(k) != g.Node(0).Name() {
			r.key = k
		}
	}
	if _, err := g.Node(0).Call(ctx, clusterKind, r.key, []byte("get")); err != nil {
		return nil, err
	}
	if r.holder, err = n0.NewInbox(); err == nil {
		r.locker, err = n0.NewInbox()
	}
	return r, err
}

func (r *globalRun) close() {
	_ = r.g.Node(0).Node().Exit(r.echo, node.Reason{Kind: node.Killed})
	for _, ib := range []*node.Inbox{r.holder, r.locker} {
		if ib != nil {
			ib.Close()
		}
	}
}

// opKind is an operation measured by globalRun.once.
type opKind uint8

const (
	opRegister opKind = iota
	opReregister
	opLock
	opTrans
)

// once times a node call, a keyed call and one operation of kind op; keep
// records the times.
func (r *globalRun) once(ctx context.Context, op opKind, i int, ts *opTimes, keep bool) error {
	c0, s0 := r.g.Node(0), r.g.svcs[0]
	kinds := map[opKind]timedOp{
		opRegister: {&ts.register, func() error { return s0.RegisterName(ctx, fmt.Sprintf("bench/%d", i), r.holder.Self()) }},
		opReregister: {&ts.reregister, func() error {
			return s0.RegisterName(ctx, fmt.Sprintf("bench/%d", i%64), r.holder.Self())
		}},
		opLock: {&ts.lock, func() error { return r.lockRoundtrip(ctx) }},
		opTrans: {&ts.trans, func() error {
			return s0.Trans(ctx, "bench-trans", node.PID{}, func(uint64) error { return nil }, global.LockOpts{})
		}},
	}
	ops := []timedOp{
		{&ts.call, func() error { _, err := c0.Node().Call(ctx, r.echo, []byte("ping")); return err }},
		{&ts.keyed, func() error { _, err := c0.Call(ctx, clusterKind, r.key, []byte("get")); return err }},
		kinds[op],
	}
	if op == opReregister { // untimed: the name is free again, its authority still runs
		if err := s0.UnregisterName(ctx, fmt.Sprintf("bench/%d", i%64)); err != nil {
			return err
		}
	}
	for _, o := range ops {
		t0 := time.Now()
		if err := o.do(); err != nil {
			return err
		}
		if keep {
			*o.into = append(*o.into, time.Since(t0))
		}
	}
	return nil
}

// timedOp is an operation and where its durations go.
type timedOp struct {
	into *[]time.Duration
	do   func() error
}

func (r *globalRun) lockRoundtrip(ctx context.Context) error {
	s0 := r.g.svcs[0]
	if _, err := s0.SetLock(ctx, "bench-lock", r.locker.Self(), global.LockOpts{}); err != nil {
		return err
	}
	return s0.DelLock(ctx, "bench-lock", r.locker.Self())
}

// whereis times WhereisName of a registered name on the last node, in
// batches (one read is too short for the clock).
func (r *globalRun) whereis() (float64, error) {
	const batch = 1000
	s := r.g.svcs[len(r.g.svcs)-1]
	var per []time.Duration
	for range 50 {
		t0 := time.Now()
		for range batch {
			if pid, ok := s.WhereisName("bench/0"); !ok || pid != r.holder.Self() {
				return 0, fmt.Errorf("bench: the last node does not see bench/0")
			}
		}
		per = append(per, time.Since(t0)/batch)
	}
	return nodeQuantileUS(per, 50), nil
}
