package node_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/node/nodetest"
)

// Calls to dead, unknown and unreachable targets fail at once with the
// right error, never by timing out.
func TestCallFailsFast(t *testing.T) {
	c := cluster(t, 3, nodetest.Options{})
	n1 := c.Node(0)
	deadLocal := spawnProbe(t, n1, c.Name(0), probeArgs{})
	deadRemote := spawnProbe(t, n1, c.Name(1), probeArgs{})
	for _, p := range []node.PID{deadLocal, deadRemote} {
		mustDo(t, n1, p, cmd{Op: "exit", Reason: node.Reason{Kind: node.Normal}})
	}
	nodetest.WaitFor(t, wait, "probes gone", func() bool {
		return n1.Stats().Processes == 0 && c.Node(1).Stats().Processes == 0
	})
	onCut := spawnProbe(t, n1, c.Name(2), probeArgs{})
	_ = c.Cut(0, 2)
	cases := []struct {
		dest node.Dest
		want error
	}{
		{deadLocal, node.ErrNoProc},
		{deadRemote, node.ErrNoProc},
		{node.Named{Name: "nobody"}, node.ErrNoProc},
		{node.Named{Name: "nobody", Node: c.Name(1)}, node.ErrNoProc},
		{onCut, node.ErrNoConnection},
		{node.Named{Name: "x", Node: "ghost@127.0.0.1"}, node.ErrNoConnection},
	}
	for _, tc := range cases {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		start := time.Now()
		_, err := n1.Call(ctx, tc.dest, []byte(`{"Op":"echo"}`))
		cancel()
		if !errors.Is(err, tc.want) {
			t.Errorf("call %s: %v, want %v", tc.dest, err, tc.want)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("call %s took %v: it waited for the deadline", tc.dest, d)
		}
	}
}

// A call outstanding when the connection dies fails with ErrNoConnection
// at once, not at its deadline.
func TestCallFailsWhenConnectionDies(t *testing.T) {
	for _, tr := range []nodetest.Transport{nodetest.Memnet, nodetest.TCP} {
		t.Run(tr.String(), func(t *testing.T) { callFailsWhenConnectionDies(t, tr) })
	}
}

func callFailsWhenConnectionDies(t *testing.T, tr nodetest.Transport) {
	c := cluster(t, 2, nodetest.Options{Transport: tr})
	pid := spawnProbe(t, c.Node(0), c.Name(1), probeArgs{})
	// The process stays busy until the call has failed: the call is
	// outstanding at the cut on any schedule (a crash then waits for it).
	gateName, openGate := newGate(t)
	errc := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		b, _ := json.Marshal(cmd{Op: "block", Text: gateName})
		_, err := c.Node(0).Call(ctx, pid, b)
		openGate()
		errc <- err
	}()
	nodetest.WaitFor(t, wait, "call outstanding", func() bool { return c.Node(0).Stats().PendingCalls == 1 })
	cutOff(t, c, 1)
	select {
	case err := <-errc:
		if !errors.Is(err, node.ErrNoConnection) {
			t.Fatalf("got %v, want ErrNoConnection", err)
		}
	case <-time.After(wait):
		t.Fatal("the call did not fail when its connection died")
	}
}

func TestCallTimeout(t *testing.T) {
	c := cluster(t, 2, nodetest.Options{})
	for _, where := range []int{0, 1} {
		pid := spawnProbe(t, c.Node(0), c.Name(where), probeArgs{})
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		gateName, openGate := newGate(t)
		b, _ := json.Marshal(cmd{Op: "block", Text: gateName})
		_, err := c.Node(0).Call(ctx, pid, b)
		cancel()
		openGate() // the late reply comes now
		if !errors.Is(err, node.ErrTimeout) {
			t.Fatalf("got %v, want ErrTimeout", err)
		}
		if got := string(mustDo(t, c.Node(0), pid, cmd{Op: "echo", Text: "later"})); got != "later" {
			t.Fatalf("late reply mixed up: %q", got)
		}
	}
	if n := c.Node(0).Stats().PendingCalls; n != 0 {
		t.Fatalf("%d pending calls left", n)
	}
}

// The handler's error comes back with the same identity locally and
// remotely: its text wrapped in ErrHandler, or the node sentinel it wraps.
func TestCallHandlerErrors(t *testing.T) {
	c := cluster(t, 2, nodetest.Options{})
	for _, where := range []int{0, 1} {
		pid := spawnProbe(t, c.Node(0), c.Name(where), probeArgs{})
		_, err := do(t, c.Node(0), pid, cmd{Op: "fail", Text: "no such user"})
		if !errors.Is(err, node.ErrHandler) || !strings.Contains(err.Error(), "no such user") {
			t.Fatalf("handler error: %v", err)
		}
		svc := fmt.Sprintf("busy%d", where)
		_ = c.Node(where).RegisterService(svc, node.ServiceFuncs{Call: func(_ node.PID, _ []byte, _ time.Time, reply node.ReplyFunc) {
			reply(nil, fmt.Errorf("try later: %w", node.ErrBusy))
		}})
		_, err = c.Node(0).Call(context.Background(), node.Named{Name: svc, Node: c.Name(where)}, nil)
		if !errors.Is(err, node.ErrBusy) || errors.Is(err, node.ErrHandler) {
			t.Fatalf("sentinel through a reply: %v", err)
		}
	}
}

func TestCallPanicAnswersAndKills(t *testing.T) {
	c := cluster(t, 2, nodetest.Options{})
	ib := inbox(t, c.Node(0))
	pid := spawnProbe(t, c.Node(0), c.Name(1), probeArgs{})
	ref := ib.Monitor(pid)
	_, err := do(t, c.Node(0), pid, cmd{Op: "panic", Text: "bad state"})
	if !errors.Is(err, node.ErrNoProc) {
		t.Fatalf("call that panicked: %v", err)
	}
	if d := expectDown(t, ib, ref); d.Reason.Kind != node.Error || !strings.Contains(d.Reason.Err, "bad state") {
		t.Fatalf("DOWN %+v", d)
	}
}

func TestCallSelf(t *testing.T) {
	c := cluster(t, 1, nodetest.Options{})
	pid := spawnProbe(t, c.Node(0), c.Name(0), probeArgs{Name: "me"})
	_, err := do(t, c.Node(0), pid, cmd{Op: "call", PID: pid, Dur: time.Minute})
	if !errors.Is(err, node.ErrCallSelf) {
		t.Fatalf("call to self: %v", err)
	}
	ib := inbox(t, c.Node(0))
	if _, err := ib.Call(context.Background(), ib.Self(), nil); !errors.Is(err, node.ErrCallSelf) {
		t.Fatalf("inbox call to self: %v", err)
	}
}

func TestDeferredReply(t *testing.T) {
	c := cluster(t, 2, nodetest.Options{})
	for _, where := range []int{0, 1} {
		pid := spawnProbe(t, c.Node(0), c.Name(where), probeArgs{})
		got := mustDo(t, c.Node(0), pid, cmd{Op: "defer", Text: "x", Dur: time.Millisecond})
		if string(got) != "deferred x" {
			t.Fatalf("deferred reply %q", got)
		}
	}
	// A deferred reply outstanding when the process exits fails the caller.
	pid := spawnProbe(t, c.Node(0), c.Name(1), probeArgs{})
	errc := make(chan error, 1)
	go func() {
		_, err := do(t, c.Node(0), pid, cmd{Op: "defer", Dur: 200 * time.Millisecond})
		errc <- err
	}()
	nodetest.WaitFor(t, wait, "call in flight", func() bool { return c.Node(0).Stats().PendingCalls == 1 })
	_ = c.Node(0).Exit(pid, node.Reason{Kind: node.Killed})
	if err := <-errc; !errors.Is(err, node.ErrNoProc) {
		t.Fatalf("deferred call of a killed process: %v", err)
	}
}

func TestInboxAnswersCalls(t *testing.T) {
	c := cluster(t, 2, nodetest.Options{})
	server := inbox(t, c.Node(1))
	go func() {
		m, err := server.Receive(context.Background())
		if err == nil {
			call := m.(node.Call)
			call.Reply(append([]byte("re: "), call.Payload...), nil)
		}
	}()
	out, err := c.Node(0).Call(context.Background(), server.Self(), []byte("hi"))
	if err != nil || string(out) != "re: hi" {
		t.Fatalf("%q %v", out, err)
	}
}

// A full mailbox drops messages (counted) and refuses calls, and it delays
// nobody else: the connection keeps serving other processes.
func TestMailboxOverflow(t *testing.T) {
	c := cluster(t, 2, nodetest.Options{Configure: func(_ int, cfg *node.Config) { cfg.MailboxSize = 4 }})
	n1, n2 := c.Node(0), c.Node(1)
	slow := spawnProbe(t, n1, c.Name(1), probeArgs{})
	fast := spawnProbe(t, n1, c.Name(1), probeArgs{})
	gateName, openGate := newGate(t)
	release := make(chan struct{})
	go func() {
		_, _ = do(t, n1, slow, cmd{Op: "block", Text: gateName})
		close(release)
	}()
	waitEntered(t, gateName) // slow is inside the call: its mailbox is empty and stays so
	for i := range 10 {
		if err := n1.Send(slow, []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	nodetest.WaitFor(t, wait, "6 dropped", func() bool { return n2.Stats().MailboxDrops == 6 })
	if _, err := do(t, n1, slow, cmd{Op: "echo"}); !errors.Is(err, node.ErrMailboxFull) {
		t.Fatalf("call to a full mailbox: %v", err)
	}
	if got := string(mustDo(t, n1, fast, cmd{Op: "echo", Text: "ok"})); got != "ok" {
		t.Fatalf("other process on the same connection: %q", got)
	}
	select {
	case <-release:
		t.Fatal("the fast call waited for the slow process")
	default:
	}
	info, err := n2.ProcessInfo(slow)
	if err != nil || info.MailboxLen != 4 || info.MailboxDrops != 7 {
		t.Fatalf("slow process info %+v %v", info, err)
	}
	openGate()
	<-release
}

// Messages from one sender arrive in the order sent, locally and remotely,
// interleaved with calls.
func TestPerPairOrdering(t *testing.T) {
	for _, tr := range []nodetest.Transport{nodetest.Memnet, nodetest.TCP} {
		t.Run(tr.String(), func(t *testing.T) { perPairOrdering(t, tr) })
	}
}

func perPairOrdering(t *testing.T, tr nodetest.Transport) {
	c := cluster(t, 2, nodetest.Options{Transport: tr, Configure: func(_ int, cfg *node.Config) { cfg.MailboxSize = 4096 }})
	for _, where := range []int{0, 1} {
		rep := newReports(t, c.Node(0))
		pid := spawnProbe(t, c.Node(0), c.Name(where), probeArgs{Report: rep.Self()})
		sender := inbox(t, c.Node(0))
		const k = 500
		for i := range k {
			if err := sender.Send(pid, []byte(fmt.Sprint(i))); err != nil {
				t.Fatal(err)
			}
			if i%100 == 0 {
				if _, err := sender.Call(context.Background(), pid, []byte(`{"Op":"echo"}`)); err != nil {
					t.Fatal(err)
				}
			}
		}
		for i := range k {
			r := expectReport(t, rep, "message", nil)
			if r.Payload != fmt.Sprint(i) || r.From != sender.Self() {
				t.Fatalf("message %d: %+v", i, r)
			}
		}
	}
}

// PIDs of an earlier incarnation of a node never reach the new one.
func TestPIDCreation(t *testing.T) {
	c := cluster(t, 2, nodetest.Options{})
	old := spawnProbe(t, c.Node(0), c.Name(1), probeArgs{})
	oldCreation := c.Node(1).Creation()
	n2, err := c.Restart(1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n2.Creation() == oldCreation {
		t.Fatal("restart reused the creation")
	}
	rep := newReports(t, c.Node(0))
	fresh := spawnProbe(t, c.Node(0), c.Name(1), probeArgs{Report: rep.Self()})
	if fresh.ID != old.ID {
		t.Fatalf("test wants the new process to reuse the id (%d vs %d)", fresh.ID, old.ID)
	}
	if err := c.Node(0).Send(old, []byte("stale")); err != nil {
		t.Fatal(err)
	}
	nodetest.WaitFor(t, wait, "stale drop counted", func() bool { return n2.Stats().StaleDrops == 1 })
	noReport(t, rep, 20*time.Millisecond, "message", nil)
	if _, err := do(t, c.Node(0), old, cmd{Op: "echo"}); !errors.Is(err, node.ErrNoProc) {
		t.Fatalf("call to a stale PID: %v", err)
	}
	ib := inbox(t, c.Node(0))
	if d := expectDown(t, ib, ib.Monitor(old)); d.Reason.Kind != node.NoProc {
		t.Fatalf("monitor of a stale PID: %+v", d)
	}
}
