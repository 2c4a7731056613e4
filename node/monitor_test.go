package node_test

import (
	"strings"
	"testing"
	"time"

	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/node/nodetest"
)

// TestDownReasons checks every DOWN reason, for a watcher on the target's
// node and on another node, and that exactly one DOWN arrives.
func TestDownReasons(t *testing.T) {
	cases := []struct {
		name string
		kill func(t *testing.T, c *nodetest.Cluster, pid node.PID)
		want node.ReasonKind
		text string
	}{
		{"normal", func(t *testing.T, c *nodetest.Cluster, pid node.PID) {
			mustDo(t, c.Node(0), pid, cmd{Op: "exit", Reason: node.Reason{Kind: node.Normal}})
		}, node.Normal, ""},
		{"shutdown", func(t *testing.T, c *nodetest.Cluster, pid node.PID) {
			mustDo(t, c.Node(0), pid, cmd{Op: "exit", Reason: node.Reason{Kind: node.Shutdown}})
		}, node.Shutdown, ""},
		{"killed", func(t *testing.T, c *nodetest.Cluster, pid node.PID) {
			if err := c.Node(0).Exit(pid, node.Reason{Kind: node.Killed}); err != nil {
				t.Fatal(err)
			}
		}, node.Killed, ""},
		{"error", func(t *testing.T, c *nodetest.Cluster, pid node.PID) {
			mustDo(t, c.Node(0), pid, cmd{Op: "exit", Reason: node.Reason{Kind: node.Error, Err: "boom"}})
		}, node.Error, "boom"},
		{"panic", func(t *testing.T, c *nodetest.Cluster, pid node.PID) {
			_, _ = do(t, c.Node(0), pid, cmd{Op: "panic", Text: "kaboom"})
		}, node.Error, "kaboom"},
		{"noconnection", func(t *testing.T, c *nodetest.Cluster, pid node.PID) {
			cutOff(t, c, 1)
		}, node.NoConnection, ""},
	}
	for _, tc := range cases {
		for _, where := range []string{"local", "remote", "remote-tcp"} {
			if tc.want == node.NoConnection && where == "local" {
				continue
			}
			remote := where != "local"
			tr := map[bool]nodetest.Transport{false: nodetest.Memnet, true: nodetest.TCP}[where == "remote-tcp"]
			t.Run(tc.name+"/"+where, func(t *testing.T) {
				c := cluster(t, 2, nodetest.Options{Transport: tr})
				watcher := inbox(t, c.Node(0))
				where := c.Name(0)
				if remote {
					where = c.Name(1)
				}
				pid := spawnProbe(t, c.Node(0), where, probeArgs{})
				ref := watcher.Monitor(pid)
				mustDo(t, c.Node(0), pid, cmd{Op: "echo"}) // monitor is in place
				tc.kill(t, c, pid)
				d := expectDown(t, watcher, ref)
				if d.Reason.Kind != tc.want || !strings.Contains(d.Reason.Err, tc.text) || d.PID != pid {
					t.Fatalf("DOWN %+v, want %v %q for %s", d, tc.want, tc.text, pid)
				}
				noMessage(t, watcher, 20*time.Millisecond, "second DOWN", func(m node.Msg) bool {
					_, ok := m.(node.Down)
					return ok
				})
			})
		}
	}
}

func TestDownNoProc(t *testing.T) {
	c := cluster(t, 2, nodetest.Options{})
	ib := inbox(t, c.Node(0))
	dead := spawnProbe(t, c.Node(0), c.Name(1), probeArgs{})
	mustDo(t, c.Node(0), dead, cmd{Op: "exit", Reason: node.Reason{Kind: node.Normal}})
	nodetest.WaitFor(t, wait, "probe gone", func() bool { return c.Node(1).Stats().Processes == 0 })
	local := spawnProbe(t, c.Node(0), c.Name(0), probeArgs{})
	mustDo(t, c.Node(0), local, cmd{Op: "exit", Reason: node.Reason{Kind: node.Normal}})
	nodetest.WaitFor(t, wait, "local probe gone", func() bool { return c.Node(0).Stats().Processes == 1 })

	for _, d := range []node.Dest{
		dead, local,
		node.Named{Name: "nobody", Node: c.Name(1)},
		node.Named{Name: "nobody"},
		node.PID{Node: c.Name(1), ID: 999999, Creation: c.Node(1).Creation()},
	} {
		ref := ib.Monitor(d)
		if got := expectDown(t, ib, ref); got.Reason.Kind != node.NoProc {
			t.Fatalf("monitor %s: DOWN %+v, want noproc", d, got)
		}
	}
}

func TestDemonitor(t *testing.T) {
	c := cluster(t, 2, nodetest.Options{})
	for _, where := range []int{0, 1} {
		ib := inbox(t, c.Node(0))
		pid := spawnProbe(t, c.Node(0), c.Name(where), probeArgs{})
		ref := ib.Monitor(pid)
		if !ib.Demonitor(ref) {
			t.Fatal("Demonitor of an active monitor returned false")
		}
		if ib.Demonitor(ref) {
			t.Fatal("second Demonitor returned true")
		}
		// A second monitor shows when the DOWN would have arrived.
		ref2 := ib.Monitor(pid)
		mustDo(t, c.Node(0), pid, cmd{Op: "exit", Reason: node.Reason{Kind: node.Error, Err: "x"}})
		if d := expectDown(t, ib, ref2); d.Ref != ref2 {
			t.Fatalf("got %+v", d)
		}
		noMessage(t, ib, 20*time.Millisecond, "DOWN after demonitor", func(m node.Msg) bool {
			d, ok := m.(node.Down)
			return ok && d.Ref == ref
		})
	}
}

// A DOWN already queued when Demonitor is called is flushed.
func TestDemonitorFlushesQueuedDown(t *testing.T) {
	c := cluster(t, 1, nodetest.Options{})
	ib := inbox(t, c.Node(0))
	pid := spawnProbe(t, c.Node(0), c.Name(0), probeArgs{})
	ref := ib.Monitor(pid)
	mustDo(t, c.Node(0), pid, cmd{Op: "exit", Reason: node.Reason{Kind: node.Normal}})
	nodetest.WaitFor(t, wait, "DOWN queued", func() bool { return ib.Len() == 1 })
	if ib.Demonitor(ref) {
		t.Fatal("Demonitor after the DOWN fired returned true")
	}
	noMessage(t, ib, 20*time.Millisecond, "flushed DOWN", func(m node.Msg) bool { return true })
}

func TestMonitorByName(t *testing.T) {
	c := cluster(t, 2, nodetest.Options{})
	for _, where := range []int{0, 1} {
		ib := inbox(t, c.Node(0))
		pid := spawnProbe(t, c.Node(0), c.Name(where), probeArgs{Name: "named"})
		ref := ib.Monitor(node.Named{Name: "named", Node: c.Name(where)})
		mustDo(t, c.Node(0), pid, cmd{Op: "exit", Reason: node.Reason{Kind: node.Shutdown}})
		d := expectDown(t, ib, ref)
		if d.PID != pid || d.Name != "named" || d.Node != c.Name(where) || d.Reason.Kind != node.Shutdown {
			t.Fatalf("DOWN %+v", d)
		}
		nodetest.WaitFor(t, wait, "name freed", func() bool {
			_, ok := c.Node(where).Whereis("named")
			return !ok
		})
	}
}

// A process watching a process on another node, and being watched from
// there: each side's monitors fire exactly once however the exit and the
// connection loss race.
func TestMonitorsExactlyOnceUnderCut(t *testing.T) {
	c := cluster(t, 2, nodetest.Options{})
	ib := inbox(t, c.Node(0))
	const k = 30
	refs := map[node.Ref]bool{}
	pids := make([]node.PID, k)
	for i := range k {
		pids[i] = spawnProbe(t, c.Node(0), c.Name(1), probeArgs{})
		refs[ib.Monitor(pids[i])] = true
	}
	mustDo(t, c.Node(0), pids[k-1], cmd{Op: "echo"})
	for i := 0; i < k; i += 2 {
		_ = c.Node(0).Exit(pids[i], node.Reason{Kind: node.Killed})
	}
	_ = c.Cut(0, 1)
	for len(refs) > 0 {
		m := nodetest.Expect(t, ib, wait, "downs", func(m node.Msg) bool { _, ok := m.(node.Down); return ok })
		d := m.(node.Down)
		if !refs[d.Ref] {
			t.Fatalf("unexpected or duplicate DOWN %+v", d)
		}
		delete(refs, d.Ref)
	}
	noMessage(t, ib, 20*time.Millisecond, "extra DOWN", func(m node.Msg) bool { _, ok := m.(node.Down); return ok })
}

// A watcher that exits cleans up its monitors on the remote node.
func TestWatcherExitRemovesRemoteMonitor(t *testing.T) {
	c := cluster(t, 2, nodetest.Options{})
	rep := newReports(t, c.Node(0))
	target := spawnProbe(t, c.Node(0), c.Name(1), probeArgs{})
	watcher := spawnProbe(t, c.Node(0), c.Name(0), probeArgs{Report: rep.Self()})
	mustDo(t, c.Node(0), watcher, cmd{Op: "monitor", PID: target})
	monitoredBy := func() int {
		info, err := c.Node(1).ProcessInfo(target)
		if err != nil {
			t.Fatal(err)
		}
		return info.MonitoredBy
	}
	nodetest.WaitFor(t, wait, "monitor registered", func() bool { return monitoredBy() == 1 })
	mustDo(t, c.Node(0), watcher, cmd{Op: "exit", Reason: node.Reason{Kind: node.Normal}})
	expectReport(t, rep, "terminate", nil)
	nodetest.WaitFor(t, wait, "remote monitor removed", func() bool { return monitoredBy() == 0 })
}
