package load

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/placerhq/placer/internal/faults/history"
	"github.com/placerhq/placer/internal/poll"
	"github.com/placerhq/placer/placement"
)

// verifyTries bounds the retries of one final read, so that a key that
// never answers does not starve the others.
const verifyTries = 10 * time.Second

// Verify reads the final state of every key (the kv map, the counter, the
// kv process's PID), all keys at once, retrying each read for up to 10 s
// (or until ctx ends), and logs them. Run it after Stop, once the cluster
// has settled.
func (g *Generator) Verify(ctx context.Context) {
	var wg sync.WaitGroup
	for _, key := range g.cfg.Keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g.verifyKey(ctx, key)
		}()
	}
	wg.Wait()
	_ = g.cfg.History.Flush()
}

// verifyKey reads one key's final state.
func (g *Generator) verifyKey(ctx context.Context, key string) {
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

// final runs read until it succeeds, verifyTries pass or ctx ends, and
// logs its last result.
func (g *Generator) final(ctx context.Context, typ, key string, read func(context.Context) (string, error)) {
	ctx, cancel := context.WithTimeout(ctx, verifyTries)
	defer cancel()
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
		if !poll.Sleep(ctx, 100*time.Millisecond) {
			g.record(op, err)
			return
		}
	}
}
