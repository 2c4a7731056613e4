package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/placerhq/placer/internal/agentproc"
	"github.com/placerhq/placer/internal/poll"
	"github.com/placerhq/placer/placement"
	"github.com/placerhq/placer/placement/agent"
	"github.com/placerhq/placer/placement/membership"
)

// The tests in this file check replication with real agent processes
// (SIGKILL, SIGSTOP, rolling restarts) through internal/agentproc, which
// keeps a record of every acknowledged write: each write adds a field of
// its own to a kv key, so a write overwritten later would still be missed
// if it were lost (a last value per key hides loss).

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

// TestMain keeps the agents of this package's tests (in-process and child
// processes, which inherit the environment) without a data directory,
// unless a test gives --data-dir (internal/agentproc gives each agent one
// in its cluster's directory): the default one is per user and name, and
// tests reuse names. It removes the shared placer build after the tests.
func TestMain(m *testing.M) {
	os.Setenv("PLACER_DATA_DIR", "off")
	code := m.Run()
	if placerDir != "" {
		_ = os.RemoveAll(placerDir)
	}
	os.Exit(code)
}

// replEnv is a cluster of agent processes, its writers and a client, for
// one test; every process is killed at cleanup.
type replEnv struct {
	t *testing.T
	c *agentproc.Cluster
}

// startCluster starts n agents named rp1..rpn with extra flags.
func startCluster(t *testing.T, n int, extra ...string) *replEnv {
	t.Helper()
	c, err := agentproc.Start(context.Background(), agentproc.Config{Bin: sharedPlacer(t), Dir: t.TempDir(), Prefix: "rp", Flags: extra}, n)
	if err != nil {
		t.Fatal(err)
	}
	e := &replEnv{t: t, c: c}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("agent logs (tail):\n%s", c.Logs(3000))
			if dir := os.Getenv("PLACER_DUMP_DIR"); dir != "" {
				files, err := c.DumpAll(context.Background(), dir)
				t.Logf("goroutine dumps of the running agents: %v %v", files, err)
			}
		}
		c.Close()
	})
	return e
}

func (e *replEnv) must(err error) {
	e.t.Helper()
	if err != nil {
		e.t.Fatal(err)
	}
}

// client is a client of the agents numbered (any agent if none),
// failing over to any.
func (e *replEnv) client(nodes ...int) *placement.Client {
	e.t.Helper()
	var names []string
	for _, i := range nodes {
		names = append(names, e.c.Name(i))
	}
	cl, err := e.c.Client(3*time.Second, names...)
	e.must(err)
	e.t.Cleanup(func() { _ = cl.Close() })
	return cl
}

// writers starts n writers over keys through cl, halted at cleanup.
func (e *replEnv) writers(cl *placement.Client, keys []string, n int) *agentproc.KVWriters {
	w := agentproc.StartKVWriters(cl, keys, n, 3*time.Second)
	e.t.Cleanup(w.Halt)
	return w
}

// flowing waits until n more writes were acknowledged.
func (e *replEnv) flowing(w *agentproc.KVWriters, n int64) {
	e.t.Helper()
	e.must(w.Flowing(context.Background(), n, 30*time.Second))
}

// check halts the writers, reads every key back and fails the test if an
// acknowledged write is missing.
func (e *replEnv) check(w *agentproc.KVWriters, cl *placement.Client) {
	e.t.Helper()
	res, err := w.Check(context.Background(), cl, 8, 0, 2*time.Minute)
	e.must(err)
	if res.Lost > 0 {
		e.t.Fatalf("%d of %d acknowledged writes lost (first: %s); %d writes failed", res.Lost, res.Acked, res.First, w.Failed())
	}
	e.t.Logf("%d acknowledged writes, all found; %d writes failed (refused, not acknowledged)", res.Acked, w.Failed())
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
	cl := e.client(1, 2)
	keys := agentproc.KVKeys(200)
	w := e.writers(cl, keys, 8)
	e.flowing(w, 1000)
	killed := time.Now()
	e.must(e.c.Kill(context.Background(), e.c.Name(5)))
	took, err := agentproc.Served(context.Background(), cl, keys, 16, killed, 30*time.Second)
	e.must(err)
	e.flowing(w, 500)
	e.check(w, cl)
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
			cl := e.client(1, 2)
			w := e.writers(cl, agentproc.KVKeys(120), 8)
			e.flowing(w, 800)
			victim := e.c.Proc(e.c.Name(4))
			e.must(victim.Signal(syscall.SIGSTOP))
			stopped := time.Now()
			agentWait(t, 15*time.Second, "rp4 marked failed", func() bool {
				st, _ := e.c.Status(context.Background(), e.c.Name(1), victim.Name)
				return st == "failed"
			})
			e.flowing(w, 300)
			// The pause lasts 3 s (a GC, VM or disk stall), writes flowing.
			agentWait(t, 10*time.Second, "a 3 s pause", func() bool { return time.Since(stopped) >= 3*time.Second })
			e.must(victim.Signal(syscall.SIGCONT))
			e.must(e.c.WaitMembers(context.Background(), 4))
			e.flowing(w, 500)
			e.check(w, cl)
		})
	}
}

// TestReplicatedRollingRestart: every agent of five is restarted in turn
// (SIGTERM: a graceful leave, then the same name again) under writes;
// with R = 2 no acknowledged write is lost.
func TestReplicatedRollingRestart(t *testing.T) {
	e := startCluster(t, 5)
	cl := e.client() // any agent: each one goes away in turn
	w := e.writers(cl, agentproc.KVKeys(150), 8)
	e.flowing(w, 500)
	ctx := context.Background()
	for i := 5; i >= 1; i-- {
		name := e.c.Name(i)
		if i == 1 {
			e.must(e.c.Reseed(e.c.Name(2)))
		}
		e.must(e.c.Term(ctx, name, 60*time.Second))
		e.must(e.c.Start(ctx, name))
		e.must(e.c.WaitMembers(ctx, 5))
		t.Logf("%s restarted; %d writes acknowledged, %d failed; client on %s", name, w.Acked(), w.Failed(), cl.Agent())
		e.flowing(w, 300)
	}
	e.check(w, cl)
}

// TestReplicatedTwoKillsR3: with R = 3 a key survives two crashes one
// after the other, once the copies were restored in between.
func TestReplicatedTwoKillsR3(t *testing.T) {
	e := startCluster(t, 5, "--replicas", "3")
	cl := e.client(1, 2)
	keys := agentproc.KVKeys(120)
	w := e.writers(cl, keys, 6)
	e.flowing(w, 600)
	ctx := context.Background()
	for _, i := range []int{5, 4} {
		e.must(e.c.Kill(ctx, e.c.Name(i)))
		_, err := agentproc.Served(ctx, cl, keys, 16, time.Now(), 30*time.Second)
		e.must(err)
		e.flowing(w, 300)
		e.waitCopies(keys, 3)
	}
	e.check(w, cl)
}

// waitCopies waits until every key has r copies (a process or a backup)
// on distinct running agents.
func (e *replEnv) waitCopies(keys []string, r int) {
	e.t.Helper()
	poll.CheckFor(e.t, 30*time.Second, func() error { return e.c.CheckCopies(context.Background(), agent.KindKV, keys, r) })
}
