package load

import (
	"sync"

	"github.com/placerhq/placer/internal/faults/history"
	"github.com/placerhq/placer/internal/poll"
	"github.com/placerhq/placer/node"
)

// monitors maps the generator's monitors to their keys.
type monitors struct {
	mu    sync.Mutex               // guards byRef
	byRef map[node.Ref]string      // live monitor -> key
	wake  map[string]chan struct{} // key -> its monitorKey loop's wake-up; fixed after Start
}

// take forgets monitor ref and returns its key ("" if unknown).
func (m *monitors) take(ref node.Ref) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	key := m.byRef[ref]
	delete(m.byRef, ref)
	return key
}

// monitorKey keeps one monitor on the kv process of key until Stop: it
// ensures the process, monitors its PID, and after the DOWN does it again.
func (g *Generator) monitorKey(key string) {
	wake := g.mons.wake[key]
	for g.loadCtx.Err() == nil {
		if !g.ensureMonitor(key) {
			if !poll.Sleep(g.loadCtx, g.cfg.Period) {
				return
			}
			continue
		}
		select {
		case <-wake:
		case <-g.loadCtx.Done():
			return
		}
		if !poll.Sleep(g.loadCtx, g.cfg.Period) {
			return
		}
	}
}

// ensureMonitor starts (if needed) the kv process of key and monitors it.
func (g *Generator) ensureMonitor(key string) bool {
	op := history.Op{Start: history.Now(), Type: history.OpMonitor, Key: key}
	ctx, cancel := g.opCtx()
	pid, err := g.cl.EnsureProcess(ctx, KindKV, key)
	cancel()
	if err == nil {
		op.PID = pid.String()
		// Remember the ref before the DOWN can be taken: hold the lock
		// across Monitor.
		g.mons.mu.Lock()
		ref := g.inbox.Monitor(pid)
		g.mons.byRef[ref] = key
		g.mons.mu.Unlock()
		op.Ref = uint64(ref)
	}
	g.record(op, err)
	return err == nil
}

// receiveDowns logs every DOWN and wakes its key's loop, until Close.
func (g *Generator) receiveDowns() {
	for {
		m, err := g.inbox.Receive(g.ctx)
		if err != nil {
			return
		}
		d, ok := m.(node.Down)
		if !ok {
			continue
		}
		key := g.mons.take(d.Ref)
		now := history.Now()
		g.cfg.History.Add(history.Op{Start: now, End: now, Node: g.cfg.Node, Type: history.OpDown, Key: key,
			PID: d.PID.String(), Ref: uint64(d.Ref), Err: d.Reason.String(), OK: true})
		if w := g.mons.wake[key]; w != nil {
			select {
			case w <- struct{}{}:
			default:
			}
		}
	}
}
