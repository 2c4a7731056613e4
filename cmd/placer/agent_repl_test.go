package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/placerhq/placer/placement"
	"github.com/placerhq/placer/placement/agent"
	"github.com/placerhq/placer/placement/agent/names"
	"github.com/placerhq/placer/placement/membership"
)

// The tests in this file check replication with real agent processes
// (SIGKILL, SIGSTOP, rolling restarts) and a history of every
// acknowledged write: each write adds a field of its own to a kv key
// ("set w<writer>-<n> 1"), so a write overwritten later would still be
// missed if it were lost (a last value per key hides loss).

var (
	placerOnce sync.Once
	placerDir  string // removed by TestMain
	placerBin  string
	placerErr  error
)

// sharedPlacer builds the placer binary once for the tests of this file.
func sharedPlacer(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the placer binary and runs agent processes")
	}
	placerOnce.Do(func() {
		if placerDir, placerErr = os.MkdirTemp("", "placer-bin-"); placerErr != nil {
			return
		}
		placerBin = filepath.Join(placerDir, "placer")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, "go", "build", "-o", placerBin, "github.com/placerhq/placer/cmd/placer").CombinedOutput()
		if err != nil {
			placerErr = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if placerErr != nil {
		t.Fatal(placerErr)
	}
	return placerBin
}

// TestMain removes the shared placer build after the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if placerDir != "" {
		_ = os.RemoveAll(placerDir)
	}
	os.Exit(code)
}

// kvHistory records every acknowledged kv write of the writers.
type kvHistory struct {
	mu      sync.Mutex
	acked   map[string][]string // key -> fields whose set was acknowledged
	total   atomic.Int64
	failed  atomic.Int64
	lastErr atomic.Value // string
	stop    chan struct{}
	wg      sync.WaitGroup
}

// startWriters runs n writers through cl over keys until halt.
func startWriters(cl *placement.Client, keys []string, n int) *kvHistory {
	h := &kvHistory{acked: map[string][]string{}, stop: make(chan struct{})}
	for g := range n {
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			h.write(cl, keys, g)
		}()
	}
	return h
}

func (h *kvHistory) write(cl *placement.Client, keys []string, g int) {
	for i := 0; ; i++ {
		select {
		case <-h.stop:
			return
		default:
		}
		key, field := keys[(i*7919+g*104729)%len(keys)], fmt.Sprintf("w%d-%d", g, i)
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		_, err := cl.Call(ctx, agent.KindKV, key, []byte("set "+field+" 1"))
		cancel()
		if err != nil {
			h.failed.Add(1)
			h.lastErr.Store(err.Error())
			time.Sleep(5 * time.Millisecond) // an unavailable key: do not spin
			continue
		}
		h.mu.Lock()
		h.acked[key] = append(h.acked[key], field)
		h.mu.Unlock()
		h.total.Add(1)
	}
}

// flowing waits until n more writes than now were acknowledged.
func (h *kvHistory) flowing(t *testing.T, n int64) {
	t.Helper()
	want := h.total.Load() + n
	agentWait(t, 30*time.Second, fmt.Sprintf("%d acknowledged writes (last error: %v)", want, h.lastErr.Load()), func() bool { return h.total.Load() >= want })
}

func (h *kvHistory) halt() {
	select {
	case <-h.stop:
	default:
		close(h.stop)
	}
	h.wg.Wait()
}

// check reads every key through cl and counts the acknowledged writes
// missing from it; it fails t naming the first.
func (h *kvHistory) check(t *testing.T, cl *placement.Client) {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	lost, first := 0, ""
	for key, fields := range h.acked {
		var have []string
		agentWait(t, 15*time.Second, "read "+key, func() bool {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			out, err := cl.Call(ctx, agent.KindKV, key, []byte("keys"))
			return err == nil && json.Unmarshal(out, &have) == nil
		})
		for _, f := range fields {
			if !slices.Contains(have, f) {
				lost++
				if first == "" {
					first = key + "/" + f
				}
			}
		}
	}
	if lost > 0 {
		t.Fatalf("%d of %d acknowledged writes lost (first: %s); %d writes failed", lost, h.total.Load(), first, h.failed.Load())
	}
	t.Logf("%d acknowledged writes, all found; %d writes failed (refused, not acknowledged)", h.total.Load(), h.failed.Load())
}

// replEnv is a cluster of agent processes for the replication tests.
type replEnv struct {
	procEnv
	procs map[string]*proc
	seed  string // gossip address of the first agent
	extra []string
}

// startCluster starts n agents named rp1..rpn with extra flags.
func startCluster(t *testing.T, n int, extra ...string) *replEnv {
	t.Helper()
	e := &replEnv{procEnv: procEnv{agentEnv: newAgentEnv(t), bin: sharedPlacer(t)}, procs: map[string]*proc{}, extra: extra}
	for i := 1; i <= n; i++ {
		e.start(t, fmt.Sprintf("rp%d@127.0.0.1", i))
	}
	e.waitMembers(t, n)
	return e
}

// start starts (or restarts) the agent name, joining the first agent.
func (e *replEnv) start(t *testing.T, name string) {
	t.Helper()
	args := append([]string{"--http", "off"}, e.extra...)
	if e.seed != "" {
		args = append(args, "--join", e.seed)
	}
	p, rec := e.agent(t, name, args...)
	e.procs[name] = p
	if e.seed == "" {
		e.seed = rec.Gossip
	}
}

// waitMembers waits until the first agent sees n alive ring members.
func (e *replEnv) waitMembers(t *testing.T, n int) {
	t.Helper()
	agentWait(t, 30*time.Second, fmt.Sprintf("%d ring members", n), func() bool {
		ms := e.members(t, "rp1@127.0.0.1")
		if ms == nil {
			return false
		}
		ring := 0
		for _, m := range ms.Members {
			if m.Ring && m.Status == "alive" {
				ring++
			}
		}
		return ring == n
	})
}

// client is a hidden client of the agents named, failing over to any.
func (e *replEnv) client(t *testing.T, nodes ...string) *placement.Client {
	t.Helper()
	cc := agent.DefaultClientConfig()
	cc.CookieFile, cc.NamesDir, cc.Nodes, cc.Discover, cc.Timeout = e.cookie, e.dir, nodes, true, 3*time.Second
	cl, err := agent.NewClient(cc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cl.Close() })
	return cl
}

// served waits until every key answers a read through cl and returns how
// long it took from since.
func served(t *testing.T, cl *placement.Client, keys []string, since time.Time) time.Duration {
	t.Helper()
	for _, k := range keys {
		agentWait(t, 30*time.Second, k+" served", func() bool {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			_, err := cl.Call(ctx, agent.KindKV, k, []byte("keys"))
			return err == nil
		})
	}
	return time.Since(since)
}

func replKeys(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "acct-" + strconv.Itoa(i)
	}
	return out
}

// detectionBound is the local profile's worst failure detection for n
// members plus one second: the time by which a killed owner's keys must be
// served again.
func detectionBound(t *testing.T, n int) time.Duration {
	t.Helper()
	tm, err := membership.ProfileTiming(membership.ProfileLocal, n)
	if err != nil {
		t.Fatal(err)
	}
	return tm.FailureWorst + time.Second
}

// TestReplicatedKillLosesNothing: kv with R = 2, writes from 8 writers; a
// SIGKILL of one agent loses no acknowledged write, and every key is
// served again within failure detection + 1 s.
func TestReplicatedKillLosesNothing(t *testing.T) {
	e := startCluster(t, 5)
	cl := e.client(t, "rp1@127.0.0.1", "rp2@127.0.0.1")
	keys := replKeys(200)
	h := startWriters(cl, keys, 8)
	defer h.halt()
	h.flowing(t, 1000)
	victim := e.procs["rp5@127.0.0.1"]
	killed := time.Now()
	victim.signal(t, syscall.SIGKILL)
	victim.wait(t, 10*time.Second)
	took := served(t, cl, keys, killed)
	h.flowing(t, 500)
	h.halt()
	h.check(t, cl)
	if bound := detectionBound(t, 5); took > bound {
		t.Fatalf("every key served again %v after the kill, bound %v", took, bound)
	}
	t.Logf("every key served again %v after the kill", took.Round(time.Millisecond))
}

// TestReplicatedPauseLosesNothing: a SIGSTOP of one agent for 3 s (longer
// than failure detection: it is declared failed and its keys promote)
// loses no acknowledged write, with R = 2 (the stale copies are superseded)
// and with R = 1 for kv (the copies merge, last writer per entry).
func TestReplicatedPauseLosesNothing(t *testing.T) {
	for _, r := range []string{"2", "1"} {
		t.Run("R="+r, func(t *testing.T) {
			e := startCluster(t, 4, "--replicas", r)
			cl := e.client(t, "rp1@127.0.0.1", "rp2@127.0.0.1")
			keys := replKeys(120)
			h := startWriters(cl, keys, 8)
			defer h.halt()
			h.flowing(t, 800)
			victim := e.procs["rp4@127.0.0.1"]
			victim.signal(t, syscall.SIGSTOP)
			stopped := time.Now()
			agentWait(t, 15*time.Second, "rp4 marked failed", func() bool {
				st, _ := memberStatus(e.members(t, "rp1@127.0.0.1"), "rp4@127.0.0.1")
				return st == "failed"
			})
			h.flowing(t, 300)
			// The pause lasts 3 s (a GC, VM or disk stall), writes flowing.
			agentWait(t, 10*time.Second, "a 3 s pause", func() bool { return time.Since(stopped) >= 3*time.Second })
			victim.signal(t, syscall.SIGCONT)
			e.waitMembers(t, 4)
			h.flowing(t, 500)
			h.halt()
			h.check(t, cl)
		})
	}
}

// TestReplicatedRollingRestart: every agent of five is restarted in turn
// (SIGTERM: a graceful leave, then the same name again) under writes;
// with R = 2 no acknowledged write is lost.
func TestReplicatedRollingRestart(t *testing.T) {
	e := startCluster(t, 5)
	cl := e.client(t) // any agent: each one goes away in turn
	keys := replKeys(150)
	h := startWriters(cl, keys, 8)
	defer h.halt()
	h.flowing(t, 500)
	for i := 5; i >= 1; i-- {
		name := fmt.Sprintf("rp%d@127.0.0.1", i)
		p := e.procs[name]
		p.signal(t, syscall.SIGTERM)
		if code := p.wait(t, 60*time.Second); code != 0 {
			t.Fatalf("%s: SIGTERM exit %d", name, code)
		}
		if i == 1 {
			e.seed = e.procs["rp2@127.0.0.1"].gossip(t, e)
		}
		e.start(t, name)
		e.waitMembers(t, 5)
		t.Logf("%s restarted; %d writes acknowledged, %d failed; client on %s", name, h.total.Load(), h.failed.Load(), cl.Agent())
		h.flowing(t, 300)
	}
	h.halt()
	h.check(t, cl)
}

// gossip returns the gossip address of a running agent from the names
// directory.
func (p *proc) gossip(t *testing.T, e *replEnv) string {
	t.Helper()
	rec, ok := names.Lookup(e.dir, p.name)
	if !ok {
		t.Fatalf("no names record for %s", p.name)
	}
	return rec.Gossip
}

// hostedAll returns the processes and backup copies of agent name.
func (e *replEnv) hostedAll(t *testing.T, name string) ([]placement.Hosted, bool) {
	t.Helper()
	cc := agent.DefaultClientConfig()
	cc.CookieFile, cc.NamesDir, cc.Nodes, cc.Timeout = e.cookie, e.dir, []string{name}, 2*time.Second
	cl, err := agent.NewClient(cc)
	if err != nil {
		return nil, false
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	hosted, err := cl.Hosted(ctx)
	return hosted, err == nil
}

// TestReplicatedTwoKillsR3: with R = 3 a key survives two crashes one
// after the other, once the copies were restored in between.
func TestReplicatedTwoKillsR3(t *testing.T) {
	e := startCluster(t, 5, "--replicas", "3")
	cl := e.client(t, "rp1@127.0.0.1", "rp2@127.0.0.1")
	keys := replKeys(120)
	h := startWriters(cl, keys, 6)
	defer h.halt()
	h.flowing(t, 600)
	for _, name := range []string{"rp5@127.0.0.1", "rp4@127.0.0.1"} {
		p := e.procs[name]
		p.signal(t, syscall.SIGKILL)
		p.wait(t, 10*time.Second)
		served(t, cl, keys, time.Now())
		h.flowing(t, 300) // writes after the kill re-replicate every key touched
		waitCopies(t, e, keys, 3)
	}
	h.halt()
	h.check(t, cl)
}

// waitCopies waits until every key has r copies: a primary and r−1
// backups among the live agents (their /api-less stats through rpc).
func waitCopies(t *testing.T, e *replEnv, keys []string, r int) {
	t.Helper()
	agentWait(t, 30*time.Second, fmt.Sprintf("%d copies of every key", r), func() bool {
		copies := map[string]int{}
		for name, p := range e.procs {
			select {
			case <-p.done:
				continue
			default:
			}
			hosted, ok := e.hostedAll(t, name)
			if !ok {
				return false
			}
			for _, h := range hosted {
				if h.Kind == agent.KindKV {
					copies[h.Key]++
				}
			}
		}
		for _, k := range keys {
			if copies[k] < r {
				return false
			}
		}
		return true
	})
}
