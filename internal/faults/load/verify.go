package load

import (
	"context"
	"errors"
	"time"

	"github.com/placerhq/placer/internal/faults/history"
	"github.com/placerhq/placer/placement"
)

// Verify reads the final state of every key (the kv map, the counter, the
// kv process's PID), retrying each until it answers or ctx ends, and logs
// them. Run it after Stop, once the cluster has settled.
func (g *Generator) Verify(ctx context.Context) {
	for _, key := range g.cfg.Keys {
		g.final(ctx, history.OpFinalKV, key, func(c context.Context) (string, error) {
			out, err := g.cl.Call(c, KindKV, key, []byte("all"))
			return string(out), err
		})
		g.final(ctx, history.OpFinalCounter, key, func(c context.Context) (string, error) {
			out, err := g.cl.Call(c, KindCounter, key, []byte("get"))
			return string(out), err
		})
		g.final(ctx, history.OpFinalWhereis, key, func(c context.Context) (string, error) {
			pid, err := g.cl.Whereis(c, KindKV, key)
			if errors.Is(err, placement.ErrNoProcess) {
				return "", nil
			}
			return pid.String(), err
		})
	}
	_ = g.cfg.History.Flush()
}

// final runs read until it succeeds or ctx ends, and logs its last result.
func (g *Generator) final(ctx context.Context, typ, key string, read func(context.Context) (string, error)) {
	op := history.Op{Start: history.Now(), Type: typ, Key: key}
	for {
		c, cancel := context.WithTimeout(ctx, g.cfg.Timeout)
		v, err := read(c)
		cancel()
		if err == nil || ctx.Err() != nil {
			if typ == history.OpFinalWhereis {
				op.PID = v
			} else {
				op.Value = v
			}
			g.record(op, err)
			return
		}
		if !sleepCtx(ctx, 100*time.Millisecond) {
			g.record(op, err)
			return
		}
	}
}
