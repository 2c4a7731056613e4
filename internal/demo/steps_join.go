package demo

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/placerhq/placer/placement"
)

// Steps 7 and 9: ownership moves while both nodes are alive.

// stepJoin: one more node joins; the lists the ring gives it move to it
// with their items.
func stepJoin(ctx context.Context, d *demo) error {
	if err := d.ensureLists(ctx); err != nil {
		return err
	}
	if err := d.settleLists(ctx); err != nil {
		return err
	}
	before, _ := demoHosts(d.nodes)
	oldRing := d.nodes[0].c.View().Ring()
	name := d.nextName()
	d.shellCmd(fmt.Sprintf("iex --name %s -S mix   # then Node.connect(:%q)", name, d.nodes[0].name))
	d.placer("placement.Start(cfg)   # cfg.Name = %q, cfg.Membership.Join = [node1's gossip address]", name)
	start := time.Now()
	dn, err := d.startNode(name, 0, 0)
	if err != nil {
		return err
	}
	t := demoJoinTimes{started: demoSince(start)}
	if err := d.waitViews(ctx, d.nodes); err != nil {
		return err
	}
	t.views = demoSince(start)
	if err := d.waitFor(ctx, "every list on its owner", func() bool { return demoSettled(d.nodes, d.o.Keys) }); err != nil {
		return err
	}
	t.settled = demoSince(start)
	after, _ := demoHosts(d.nodes)
	j := demoJoinMoves{ideal: float64(d.o.Keys) / float64(len(d.nodes))}
	newRing := d.nodes[0].c.View().Ring()
	for i := range d.o.Keys {
		k := demoListName(i)
		j.count(k, before[k][0], after[k][0], oldRing.LocateString(k) != newRing.LocateString(k), dn.name)
	}
	return d.reportJoin(ctx, dn, t, j)
}

type demoJoinTimes struct{ started, views, settled float64 }

// demoJoinMoves counts what a join moved.
type demoJoinMoves struct {
	moved, ringMoved, elsewhere int
	ideal                       float64
	samples                     [][3]string // key, from, to
}

func (j *demoJoinMoves) count(key, from, to string, ringSays bool, newNode string) {
	if ringSays {
		j.ringMoved++
	}
	if from == to {
		return
	}
	j.moved++
	if to != newNode {
		j.elsewhere++
	}
	if len(j.samples) < 3 {
		j.samples = append(j.samples, [3]string{key, from, to})
	}
}

func (d *demo) reportJoin(ctx context.Context, dn *demoNode, t demoJoinTimes, j demoJoinMoves) error {
	d.table([]string{"what", "after"},
		[]string{"placement.Start returned (joined)", fmt.Sprintf("%.0f ms", t.started)},
		[]string{"every view holds " + dn.name, fmt.Sprintf("%.0f ms", t.views)},
		[]string{"every list active on its owner", fmt.Sprintf("%.0f ms", t.settled)})
	ratio := float64(j.moved) / j.ideal
	d.note("lists moved: %d, ideal %d/%d = %.0f, ratio %.3f; the ring math predicted %d, all to %s",
		j.moved, d.o.Keys, len(d.nodes), j.ideal, ratio, j.ringMoved, dn.name)
	d.fig("join_rebalance_ms", t.settled, "ms", "new node started -> every list on its owner")
	d.fig("join_moved", j.moved, "lists", fmt.Sprintf("moved to %s (ring math: %d)", dn.name, j.ringMoved))
	d.fig("join_moved_ratio", ratio, "", "moved / ideal (keys / nodes after the join)")
	if j.moved != j.ringMoved || j.elsewhere != 0 {
		return fmt.Errorf("%w: %d lists moved (%d not to the new node), the ring says %d", ErrCheck, j.moved, j.elsewhere, j.ringMoved)
	}
	if err := d.checkLists(ctx); err != nil {
		return fmt.Errorf("state after the join: %w", err)
	}
	d.note("all %d lists read back with their items (state handed off); for example:", d.o.Keys)
	for _, s := range j.samples {
		st, err := demoGetByKey(ctx, d.nodes[0].c, s[0])
		if err != nil {
			return err
		}
		d.printf("     %s   %s -> %s   %q\n", s[0], s[1], s[2], st.Items)
	}
	d.fig("join_states_kept", d.o.Keys, "lists", "read back with every item after the join")
	return nil
}

func demoGetByKey(ctx context.Context, c *placement.Cluster, key string) (demoTodoState, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return placement.CallT[demoTodoReq, demoTodoState](ctx, c, demoTodoKind, key, demoTodoReq{Op: "get"})
}

// stepLeave: the newest node leaves gracefully while the others keep
// adding items; every list and every item survives.
func stepLeave(ctx context.Context, d *demo) error {
	if err := d.ensureLists(ctx); err != nil {
		return err
	}
	if len(d.nodes) < 2 {
		return fmt.Errorf("%w: no node left to hand the lists to", ErrCheck)
	}
	leaver := d.newest()
	stay := slices.DeleteFunc(slices.Clone(d.nodes), func(dn *demoNode) bool { return dn == leaver })
	hosted := len(leaver.c.Hosted())
	tr := startDemoTraffic(ctx, demoClusters(stay), d.o.Keys)
	defer tr.halt()
	if err := d.waitFor(ctx, "traffic to start", func() bool { return tr.total.Load() >= 20 }); err != nil {
		return err
	}
	d.iex(leaver.name, ":init.stop()   # a graceful stop")
	d.placer("%s.Leave(ctx)   # drain (hand every list off), views drop it, Serf leave, close", demoVar(leaver.name))
	t, err := d.leave(ctx, leaver, stay)
	if err != nil {
		return err
	}
	tr.halt()
	lostStates, lostMsgs, err := d.countLosses(ctx, tr)
	if err != nil {
		return err
	}
	return d.reportLeave(leaver, hosted, t, tr, lostStates, lostMsgs)
}

type demoLeaveTimes struct{ drain, leave, settled float64 }

// leave drains and leaves leaver, then waits until stay hosts every list.
func (d *demo) leave(ctx context.Context, leaver *demoNode, stay []*demoNode) (demoLeaveTimes, error) {
	var t demoLeaveTimes
	start := time.Now()
	lctx, cancel := context.WithTimeout(ctx, d.o.Timeout)
	defer cancel()
	if err := leaver.c.Drain(lctx); err != nil {
		return t, err
	}
	t.drain = demoSince(start)
	err := d.h.Leave(lctx, leaver.c)
	t.leave = demoSince(start)
	d.remove(leaver)
	leaver.closeServices()
	if err != nil {
		return t, err
	}
	if err := d.waitFor(ctx, "every list on a remaining node", func() bool { return demoSettled(stay, d.o.Keys) }); err != nil {
		return t, err
	}
	t.settled = demoSince(start)
	return t, nil
}

// countLosses waits (up to 10 s) until every list holds what was sent to
// it; then a list with fewer items than before the leave lost its state,
// and any other shortfall is lost messages. It records the new counts.
func (d *demo) countLosses(ctx context.Context, tr *demoTraffic) (states, msgs int, err error) {
	cs := demoClusters(d.nodes)
	var lostStates, lostMsgs atomic.Int64
	deadline := time.Now().Add(10 * time.Second)
	err = demoForEach(ctx, d.o.Keys, func(i int) error {
		want := d.expect[i] + int(tr.sent[i].Load())
		for {
			st, err := demoGetList(ctx, cs[i%len(cs)], i)
			if err != nil {
				return err
			}
			if n := len(st.Items); n >= want || time.Now().After(deadline) {
				if n < d.expect[i] {
					lostStates.Add(1)
				}
				lostMsgs.Add(int64(max(0, want-n)))
				d.expect[i] = n
				return nil
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
	return int(lostStates.Load()), int(lostMsgs.Load()), err
}

func (d *demo) reportLeave(leaver *demoNode, hosted int, t demoLeaveTimes, tr *demoTraffic, lostStates, lostMsgs int) error {
	sent, errs := tr.total.Load(), tr.errs.Load()
	d.table([]string{"what", "value"},
		[]string{"lists " + leaver.name + " hosted", fmt.Sprint(hosted)},
		[]string{"drain (every list handed off)", fmt.Sprintf("%.0f ms", t.drain)},
		[]string{"leave (drain, views, Serf leave, close)", fmt.Sprintf("%.0f ms", t.leave)},
		[]string{"items added meanwhile from the others", fmt.Sprint(sent)},
		[]string{"lists that lost their state", fmt.Sprint(lostStates)},
		[]string{"items lost", fmt.Sprint(lostMsgs)})
	d.fig("leave_handed_off", hosted, "lists", "hosted by "+leaver.name+" when it left")
	d.fig("leave_drain_ms", t.drain, "ms", "Drain: until it hosted nothing")
	d.fig("leave_total_ms", t.leave, "ms", "Leave: drain, views, Serf leave, close")
	d.fig("leave_messages", sent, "msgs", fmt.Sprintf("items sent during the leave (%d refused to the sender)", errs))
	d.fig("leave_lost_states", lostStates, "lists", "restarted empty during the leave")
	d.fig("leave_lost_messages", lostMsgs, "msgs", "sent without error, never added")
	if lostStates != 0 || lostMsgs != 0 {
		return fmt.Errorf("%w: the leave lost %d lists and %d items", ErrCheck, lostStates, lostMsgs)
	}
	return nil
}

// demoTraffic adds items to every list from two goroutines, about 1,000 a
// second each, counting per list the sends that returned nil.
type demoTraffic struct {
	sent  []atomic.Int64
	total atomic.Int64
	errs  atomic.Int64
	stop  chan struct{}
	once  sync.Once
	wg    sync.WaitGroup
}

func startDemoTraffic(ctx context.Context, from []*placement.Cluster, keys int) *demoTraffic {
	tr := &demoTraffic{sent: make([]atomic.Int64, keys), stop: make(chan struct{})}
	for s := range 2 {
		tr.wg.Add(1)
		go func() {
			defer tr.wg.Done()
			tr.run(ctx, from[s%len(from)], s, keys)
		}()
	}
	return tr
}

func (tr *demoTraffic) run(ctx context.Context, c *placement.Cluster, s, keys int) {
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for n := 0; ; n++ {
		select {
		case <-tr.stop:
			return
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		i := (n*7919 + s*104729) % keys
		item := fmt.Sprintf("t%d.%d", s, n)
		if err := placement.SendT(ctx, c, demoTodoKind, demoListName(i), demoTodoReq{Op: "add", Item: item}); err != nil {
			tr.errs.Add(1)
			continue
		}
		tr.sent[i].Add(1)
		tr.total.Add(1)
	}
}

// halt stops the senders and waits for them (idempotent).
func (tr *demoTraffic) halt() {
	tr.once.Do(func() { close(tr.stop) })
	tr.wg.Wait()
}
