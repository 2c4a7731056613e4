package node_test

import (
	"testing"
	"time"

	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/node/nodetest"
)

// linkedPair spawns a on node 0 and b on node ai/bi, links a to b, and
// monitors both from an inbox on node 0.
type linkedPair struct {
	c        *nodetest.Cluster
	rep      *reports
	a, b     node.PID
	refA     node.Ref
	refB     node.Ref
	watching *node.Inbox
}

func newLinkedPair(t *testing.T, c *nodetest.Cluster, bi int, trapA, trapB bool) *linkedPair {
	t.Helper()
	lp := &linkedPair{c: c, rep: newReports(t, c.Node(0)), watching: inbox(t, c.Node(0))}
	lp.a = spawnProbe(t, c.Node(0), c.Name(0), probeArgs{Report: lp.rep.Self(), Trap: trapA})
	lp.b = spawnProbe(t, c.Node(0), c.Name(bi), probeArgs{Report: lp.rep.Self(), Trap: trapB})
	mustDo(t, c.Node(0), lp.a, cmd{Op: "link", PID: lp.b})
	mustDo(t, c.Node(0), lp.b, cmd{Op: "echo"}) // the link frame has arrived
	lp.refA, lp.refB = lp.watching.Monitor(lp.a), lp.watching.Monitor(lp.b)
	return lp
}

func TestLinkPropagationBothWays(t *testing.T) {
	for _, where := range []string{"local", "remote", "remote-tcp"} {
		for _, fromA := range []bool{true, false} {
			remote := where != "local"
			tr := map[bool]nodetest.Transport{false: nodetest.Memnet, true: nodetest.TCP}[where == "remote-tcp"]
			t.Run(where+map[bool]string{true: "/a-dies", false: "/b-dies"}[fromA], func(t *testing.T) {
				c := cluster(t, 2, nodetest.Options{Transport: tr})
				lp := newLinkedPair(t, c, map[bool]int{false: 0, true: 1}[remote], false, false)
				dying, other, otherRef := lp.a, lp.b, lp.refB
				if !fromA {
					dying, other, otherRef = lp.b, lp.a, lp.refA
				}
				mustDo(t, c.Node(0), dying, cmd{Op: "exit", Reason: node.Reason{Kind: node.Error, Err: "crash"}})
				d := expectDown(t, lp.watching, otherRef)
				if d.PID != other || d.Reason.Kind != node.Error || d.Reason.Err != "crash" {
					t.Fatalf("linked process DOWN %+v, want error crash", d)
				}
			})
		}
	}
}

func TestLinkNormalExitDoesNotPropagate(t *testing.T) {
	c := cluster(t, 2, nodetest.Options{})
	lp := newLinkedPair(t, c, 1, false, false)
	mustDo(t, c.Node(0), lp.b, cmd{Op: "exit", Reason: node.Reason{Kind: node.Normal}})
	expectDown(t, lp.watching, lp.refB)
	if got := string(mustDo(t, c.Node(0), lp.a, cmd{Op: "echo", Text: "alive"})); got != "alive" {
		t.Fatalf("a answered %q", got)
	}
}

func TestTrapExit(t *testing.T) {
	for _, remote := range []int{0, 1} {
		c := cluster(t, 2, nodetest.Options{})
		lp := newLinkedPair(t, c, remote, true, false)
		mustDo(t, c.Node(0), lp.b, cmd{Op: "exit", Reason: node.Reason{Kind: node.Error, Err: "boom"}})
		r := expectReport(t, lp.rep, "exit", func(r report) bool { return r.Self == lp.a })
		if r.From != lp.b || r.Reason.Kind != node.Error || r.Reason.Err != "boom" {
			t.Fatalf("EXIT %+v", r)
		}
		if got := string(mustDo(t, c.Node(0), lp.a, cmd{Op: "echo", Text: "alive"})); got != "alive" {
			t.Fatalf("trapping process answered %q", got)
		}
		// Normal exits of linked processes reach a trapping process too.
		other := spawnProbe(t, c.Node(0), c.Name(remote), probeArgs{})
		mustDo(t, c.Node(0), lp.a, cmd{Op: "link", PID: other})
		mustDo(t, c.Node(0), other, cmd{Op: "exit", Reason: node.Reason{Kind: node.Normal}})
		r = expectReport(t, lp.rep, "exit", func(r report) bool { return r.From == other })
		if r.Reason.Kind != node.Normal {
			t.Fatalf("EXIT %+v, want normal", r)
		}
	}
}

func TestLinkNoConnection(t *testing.T) {
	c := cluster(t, 2, nodetest.Options{})
	rep := newReports(t, c.Node(0))
	trapping := spawnProbe(t, c.Node(0), c.Name(0), probeArgs{Report: rep.Self(), Trap: true})
	plain := spawnProbe(t, c.Node(0), c.Name(0), probeArgs{Report: rep.Self()})
	remote := spawnProbe(t, c.Node(0), c.Name(1), probeArgs{Report: rep.Self()})
	mustDo(t, c.Node(0), trapping, cmd{Op: "link", PID: remote})
	mustDo(t, c.Node(0), plain, cmd{Op: "link", PID: remote})
	mustDo(t, c.Node(0), remote, cmd{Op: "echo"})
	ib := inbox(t, c.Node(1))
	refRemote := ib.Monitor(remote)
	_ = c.Cut(0, 1)
	r := expectReport(t, rep, "exit", func(r report) bool { return r.Self == trapping })
	if r.Reason.Kind != node.NoConnection || r.From != remote {
		t.Fatalf("trapping process got %+v", r)
	}
	r = expectReport(t, rep, "terminate", func(r report) bool { return r.Self == plain })
	if r.Reason.Kind != node.NoConnection {
		t.Fatalf("plain linked process exited with %v", r.Reason)
	}
	// On the other side, the remote process lost both links the same way.
	if d := expectDown(t, ib, refRemote); d.Reason.Kind != node.NoConnection {
		t.Fatalf("remote process DOWN %+v", d)
	}
}

func TestLinkToDeadProcess(t *testing.T) {
	c := cluster(t, 2, nodetest.Options{})
	rep := newReports(t, c.Node(0))
	for _, where := range []int{0, 1} {
		dead := spawnProbe(t, c.Node(0), c.Name(where), probeArgs{})
		mustDo(t, c.Node(0), dead, cmd{Op: "exit", Reason: node.Reason{Kind: node.Normal}})
		nodetest.WaitFor(t, wait, "gone", func() bool {
			_, err := c.Node(where).ProcessInfo(dead)
			return err != nil
		})
		trapping := spawnProbe(t, c.Node(0), c.Name(0), probeArgs{Report: rep.Self(), Trap: true})
		mustDo(t, c.Node(0), trapping, cmd{Op: "link", PID: dead})
		r := expectReport(t, rep, "exit", func(r report) bool { return r.Self == trapping })
		if r.Reason.Kind != node.NoProc || r.From != dead {
			t.Fatalf("link to a dead process: %+v", r)
		}
		plain := spawnProbe(t, c.Node(0), c.Name(0), probeArgs{Report: rep.Self()})
		_, _ = do(t, c.Node(0), plain, cmd{Op: "link", PID: dead})
		r = expectReport(t, rep, "terminate", func(r report) bool { return r.Self == plain })
		if r.Reason.Kind != node.NoProc {
			t.Fatalf("non-trapping process linked to a dead one exited with %v", r.Reason)
		}
	}
}

func TestKillCannotBeTrapped(t *testing.T) {
	c := cluster(t, 2, nodetest.Options{})
	lp := newLinkedPair(t, c, 1, true, true)
	if err := c.Node(0).Exit(lp.b, node.Reason{Kind: node.Killed}); err != nil {
		t.Fatal(err)
	}
	if d := expectDown(t, lp.watching, lp.refB); d.Reason.Kind != node.Killed {
		t.Fatalf("DOWN %+v, want killed", d)
	}
	// The linked trapping process gets EXIT killed and survives.
	r := expectReport(t, lp.rep, "exit", func(r report) bool { return r.Self == lp.a })
	if r.Reason.Kind != node.Killed {
		t.Fatalf("EXIT %+v", r)
	}
	// Terminate did not run for the killed process.
	noReport(t, lp.rep, 20*time.Millisecond, "terminate", func(r report) bool { return r.Self == lp.b })
	// An explicit non-kill exit signal is trapped.
	if err := c.Node(0).Exit(lp.a, node.Reason{Kind: node.Error, Err: "please"}); err != nil {
		t.Fatal(err)
	}
	r = expectReport(t, lp.rep, "exit", func(r report) bool { return r.Self == lp.a && r.Reason.Err == "please" })
	if r.From.ID != 0 {
		t.Fatalf("explicit exit signal from %s, want the node", r.From)
	}
}

func TestUnlink(t *testing.T) {
	c := cluster(t, 2, nodetest.Options{})
	lp := newLinkedPair(t, c, 1, false, false)
	mustDo(t, c.Node(0), lp.a, cmd{Op: "unlink", PID: lp.b})
	mustDo(t, c.Node(0), lp.b, cmd{Op: "echo"})
	info, err := c.Node(1).ProcessInfo(lp.b)
	if err != nil || info.Links != 0 {
		t.Fatalf("b still linked: %+v %v", info, err)
	}
	mustDo(t, c.Node(0), lp.b, cmd{Op: "exit", Reason: node.Reason{Kind: node.Error, Err: "x"}})
	expectDown(t, lp.watching, lp.refB)
	if got := string(mustDo(t, c.Node(0), lp.a, cmd{Op: "echo", Text: "alive"})); got != "alive" {
		t.Fatal("unlinked process died")
	}
}

func TestInboxLinkGetsExitMessages(t *testing.T) {
	c := cluster(t, 2, nodetest.Options{})
	ib := inbox(t, c.Node(0))
	pid := spawnProbe(t, c.Node(0), c.Name(1), probeArgs{})
	if err := ib.Link(pid); err != nil {
		t.Fatal(err)
	}
	mustDo(t, c.Node(0), pid, cmd{Op: "exit", Reason: node.Reason{Kind: node.Error, Err: "bye"}})
	m := nodetest.Expect(t, ib, wait, "exit", func(m node.Msg) bool { _, ok := m.(node.Exit); return ok })
	if e := m.(node.Exit); e.From != pid || e.Reason.Err != "bye" {
		t.Fatalf("EXIT %+v", e)
	}
	// An inbox that closes sends its exit (normal) to linked processes.
	rep := newReports(t, c.Node(0))
	trapping := spawnProbe(t, c.Node(0), c.Name(1), probeArgs{Report: rep.Self(), Trap: true})
	ib2 := inbox(t, c.Node(0))
	if err := ib2.Link(trapping); err != nil {
		t.Fatal(err)
	}
	mustDo(t, c.Node(0), trapping, cmd{Op: "echo"})
	ib2.Close()
	r := expectReport(t, rep, "exit", nil)
	if r.From != ib2.Self() || r.Reason.Kind != node.Normal {
		t.Fatalf("EXIT %+v", r)
	}
}
