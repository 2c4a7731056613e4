package agentproc

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/placerhq/placer/internal/poll"
	"github.com/placerhq/placer/placement"
	"github.com/placerhq/placer/placement/agent"
)

// KVWriters write to the agents' kv keys and keep a record of every
// acknowledged write. Each write adds a field of its own to its key
// ("set w<writer>-<n> 1"), so that a lost write shows even when the key
// was written again later (a last value per key would hide it).
type KVWriters struct {
	cl      *placement.Client
	keys    []string
	timeout time.Duration

	mu      sync.Mutex
	acked   map[string][]ackedField // key -> its acknowledged writes
	total   atomic.Int64
	failed  atomic.Int64
	lastErr atomic.Value // string
	stop    chan struct{}
	wg      sync.WaitGroup
}

type ackedField struct {
	field string
	n     int64 // the write's rank among the acknowledged ones, from 1
}

// KVKeys returns n kv key names.
func KVKeys(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "acct-" + strconv.Itoa(i)
	}
	return out
}

// StartKVWriters starts n writers through cl over keys; each write waits
// up to timeout. A writer first writes every key of its share once
// (writer g takes keys g, g+n, ...), then keys in a spread order.
func StartKVWriters(cl *placement.Client, keys []string, n int, timeout time.Duration) *KVWriters {
	w := &KVWriters{cl: cl, keys: keys, timeout: timeout, acked: map[string][]ackedField{}, stop: make(chan struct{})}
	w.lastErr.Store("")
	for g := range n {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			w.run(g, n)
		}()
	}
	return w
}

func (w *KVWriters) run(g, n int) {
	for i := 0; ; i++ {
		select {
		case <-w.stop:
			return
		default:
		}
		var key string
		if first := g + i*n; first < len(w.keys) {
			key = w.keys[first]
		} else {
			key = w.keys[(i*7919+g*104729)%len(w.keys)]
		}
		field := fmt.Sprintf("w%d-%d", g, i)
		ctx, cancel := context.WithTimeout(context.Background(), w.timeout)
		_, err := w.cl.Call(ctx, agent.KindKV, key, []byte("set "+field+" 1"))
		cancel()
		if err != nil {
			w.failed.Add(1)
			w.lastErr.Store(err.Error())
			select { // an unavailable key: do not spin
			case <-w.stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			continue
		}
		w.mu.Lock()
		w.acked[key] = append(w.acked[key], ackedField{field: field, n: w.total.Add(1)})
		w.mu.Unlock()
	}
}

// Acked returns the number of acknowledged writes so far; Failed the
// writes that returned an error (refused or timed out: the writer knows,
// so they are not counted as lost, whatever became of them).
func (w *KVWriters) Acked() int64  { return w.total.Load() }
func (w *KVWriters) Failed() int64 { return w.failed.Load() }

// LastErr returns the last write error ("" if none).
func (w *KVWriters) LastErr() string { return w.lastErr.Load().(string) }

// Flowing waits until n more writes than now were acknowledged.
func (w *KVWriters) Flowing(ctx context.Context, n int64, timeout time.Duration) error {
	want := w.total.Load() + n
	return poll.Until(ctx, timeout, func() error {
		if got := w.total.Load(); got < want {
			return fmt.Errorf("%d of %d acknowledged writes (last error: %s)", got, want, w.LastErr())
		}
		return nil
	})
}

// Halt stops the writers and waits for them.
func (w *KVWriters) Halt() {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	w.wg.Wait()
}

// KVCheck is the outcome of reading every key back.
type KVCheck struct {
	// Acked is the number of acknowledged writes; Lost how many of them
	// are missing from their key; LostBefore how many of those were
	// acknowledged before the mark given to Check.
	Acked, Lost, LostBefore int64
	// First names the first lost write (key/field), if any.
	First string
}

// Check halts the writers, then reads every key written through cl (par
// reads at a time, each retried until it answers, within timeout in all)
// and counts the acknowledged writes missing from it; those ranked at or
// below mark count in LostBefore too.
func (w *KVWriters) Check(ctx context.Context, cl *placement.Client, par int, mark int64, timeout time.Duration) (KVCheck, error) {
	w.Halt()
	res := KVCheck{Acked: w.total.Load()}
	keys := make(chan string)
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for range max(1, par) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for key := range keys {
				lost, lostBefore, first, err := w.checkKey(ctx, cl, key, mark)
				mu.Lock()
				res.Lost += lost
				res.LostBefore += lostBefore
				if res.First == "" {
					res.First = first
				}
				if err != nil && firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}()
	}
	w.mu.Lock()
	written := make([]string, 0, len(w.acked))
	for k := range w.acked {
		written = append(written, k)
	}
	w.mu.Unlock()
	slices.Sort(written)
	for _, k := range written {
		keys <- k
	}
	close(keys)
	wg.Wait()
	return res, firstErr
}

func (w *KVWriters) checkKey(ctx context.Context, cl *placement.Client, key string, mark int64) (lost, lostBefore int64, first string, err error) {
	var have []string
	err = poll.Until(ctx, time.Hour, func() error { // ctx bounds it
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		out, err := cl.Call(cctx, agent.KindKV, key, []byte("keys"))
		if err != nil {
			return fmt.Errorf("read %s: %w", key, err)
		}
		return json.Unmarshal(out, &have)
	})
	if err != nil {
		return 0, 0, "", err
	}
	w.mu.Lock()
	fields := w.acked[key]
	w.mu.Unlock()
	for _, f := range fields {
		if !slices.Contains(have, f.field) {
			lost++
			if f.n <= mark {
				lostBefore++
			}
			if first == "" {
				first = key + "/" + f.field
			}
		}
	}
	return lost, lostBefore, first, nil
}

// Served reads each of keys through cl (par at a time) until it answers
// and returns when the last one first did, measured from since.
func Served(ctx context.Context, cl *placement.Client, keys []string, par int, since time.Time, timeout time.Duration) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ch := make(chan string)
	var mu sync.Mutex
	var last time.Time
	var firstErr error
	var wg sync.WaitGroup
	for range max(1, par) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for key := range ch {
				err := poll.Until(ctx, time.Hour, func() error {
					cctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
					defer cancel()
					_, err := cl.Call(cctx, agent.KindKV, key, []byte("keys"))
					return err
				})
				at := time.Now()
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = fmt.Errorf("%s not served again: %w; %s", key, err, describeKey(cl, key))
				}
				if at.After(last) {
					last = at
				}
				mu.Unlock()
			}
		}()
	}
	for _, k := range keys {
		ch <- k
	}
	close(ch)
	wg.Wait()
	return last.Sub(since), firstErr
}

// describeKey says where key lives as the client's agent sees it: its
// owners and the copies on the owner (for a failure's message).
func describeKey(cl *placement.Client, key string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	lk, err := cl.LookupState(ctx, key, 3)
	if err != nil {
		return fmt.Sprintf("lookup at %s: %v", cl.Agent(), err)
	}
	out := fmt.Sprintf("at %s (epoch %d): owners %v, copies on the owner:", lk.Node, lk.Epoch, lk.Owners)
	for _, h := range lk.Processes {
		out += fmt.Sprintf(" [%s %s %s term %d seq %d]", h.Kind, h.Role, h.State, h.Term, h.Seq)
	}
	return out
}
