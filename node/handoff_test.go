package node_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/node/nodetest"
)

func probeState(t *testing.T, n *node.Node, pid node.PID) int {
	t.Helper()
	var v int
	if err := json.Unmarshal(mustDo(t, n, pid, cmd{Op: "state"}), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// The full handoff: freeze after the queue, export, start the new process
// with the state elsewhere, hand off; everything queued meanwhile and
// everything sent to the old PID afterwards reaches the new one in order.
func TestHandoff(t *testing.T) {
	c := cluster(t, 2, nodetest.Options{})
	n1, n2 := c.Node(0), c.Node(1)
	rep := newReports(t, n1)
	old := spawnProbe(t, n1, c.Name(0), probeArgs{Report: rep.Self(), Name: "key"})
	watch := inbox(t, n1)
	ref := watch.Monitor(old)
	remoteWatch := inbox(t, n2)
	remoteRef := remoteWatch.Monitor(old)
	linked := spawnProbe(t, n1, c.Name(0), probeArgs{Report: rep.Self()})
	mustDo(t, n1, linked, cmd{Op: "link", PID: old})
	sender := inbox(t, n1)
	for i := range 5 {
		_ = sender.Send(old, []byte(fmt.Sprint(i)))
	}
	state, exported, err := n1.Freeze(context.Background(), old)
	if err != nil || !exported || string(state) != "5" {
		t.Fatalf("Freeze = %q %v %v, want state 5 (all queued messages first)", state, exported, err)
	}
	for i := 5; i < 8; i++ {
		_ = sender.Send(old, []byte(fmt.Sprint(i)))
	}
	callDone := make(chan string, 1)
	go func() {
		out, err := do(t, n1, old, cmd{Op: "state"})
		callDone <- fmt.Sprintf("%s %v", out, err)
	}()
	nodetest.WaitFor(t, wait, "messages queue while frozen", func() bool {
		info, _ := n1.ProcessInfo(old)
		return info.Frozen && info.MailboxLen == 4
	})
	args, _ := json.Marshal(probeArgs{Report: rep.Self()})
	moved, err := n1.SpawnOn(context.Background(), c.Name(1), "probe", args, node.SpawnOpts{State: state, HasState: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := n1.HandoffTo(context.Background(), old, moved); err != nil {
		t.Fatal(err)
	}
	_ = sender.Send(old, []byte("8")) // within the grace period: forwarded
	for i := 5; i <= 8; i++ {
		r := expectReport(t, rep, "message", func(r report) bool { return r.Self == moved })
		if r.Payload != fmt.Sprint(i) || r.N != i+1 || r.From != sender.Self() {
			t.Fatalf("forwarded message %d arrived as %+v", i, r)
		}
	}
	if got := <-callDone; got != "8 <nil>" {
		t.Fatalf("call queued during the handoff answered %q, want state 8 from the new process", got)
	}
	if d := expectDown(t, watch, ref); d.Reason.Kind != node.Handoff || d.Reason.NewPID != moved {
		t.Fatalf("DOWN %+v, want handoff to %s", d, moved)
	}
	if d := expectDown(t, remoteWatch, remoteRef); d.Reason.Kind != node.Handoff || d.Reason.NewPID != moved {
		t.Fatalf("remote DOWN %+v, want handoff to %s across the wire", d, moved)
	}
	if r := expectReport(t, rep, "terminate", func(r report) bool { return r.Self == old }); r.Reason.NewPID != moved {
		t.Fatalf("Terminate reason %+v", r.Reason)
	}
	if _, ok := n1.Whereis("key"); ok {
		t.Fatal("the handed-off process kept its name")
	}
	// The linked process treats handoff as normal and lives on.
	if got := string(mustDo(t, n1, linked, cmd{Op: "echo", Text: "alive"})); got != "alive" {
		t.Fatalf("linked process: %q", got)
	}
	// A monitor set up on the old PID during the grace period says where it went.
	if d := expectDown(t, watch, watch.Monitor(old)); d.Reason.Kind != node.Handoff || d.Reason.NewPID != moved {
		t.Fatalf("late monitor DOWN %+v", d)
	}
	if got := probeState(t, n2, moved); got != 9 {
		t.Fatalf("state after handoff %d, want 9", got)
	}
	if n1.Stats().Forwarded != 5 {
		t.Fatalf("forwarded %d, want 5 (3 queued, 1 call, 1 late message)", n1.Stats().Forwarded)
	}
}

func TestHandoffGraceEnds(t *testing.T) {
	c := cluster(t, 1, nodetest.Options{Configure: func(_ int, cfg *node.Config) { cfg.HandoffGrace = 20 * time.Millisecond }})
	n := c.Node(0)
	old := spawnProbe(t, n, c.Name(0), probeArgs{})
	moved := spawnProbe(t, n, c.Name(0), probeArgs{})
	if _, _, err := n.Freeze(context.Background(), old); err != nil {
		t.Fatal(err)
	}
	if err := n.HandoffTo(context.Background(), old, moved); err != nil {
		t.Fatal(err)
	}
	nodetest.WaitFor(t, wait, "tombstone swept", func() bool {
		_ = n.Send(old, []byte("late"))
		return n.Stats().NoProcDrops > 0
	})
	if _, err := do(t, n, old, cmd{Op: "echo"}); !errors.Is(err, node.ErrNoProc) {
		t.Fatalf("call after the grace period: %v", err)
	}
}

func TestFreezeThaw(t *testing.T) {
	c := cluster(t, 1, nodetest.Options{})
	n := c.Node(0)
	rep := newReports(t, n)
	pid := spawnProbe(t, n, c.Name(0), probeArgs{Report: rep.Self()})
	if _, _, err := n.Freeze(context.Background(), pid); err != nil {
		t.Fatal(err)
	}
	if _, _, err := n.Freeze(context.Background(), pid); !errors.Is(err, node.ErrFrozen) {
		t.Fatalf("second freeze: %v", err)
	}
	_ = n.Send(pid, []byte("held"))
	noReport(t, rep, 20*time.Millisecond, "message", nil)
	if err := n.Thaw(pid); err != nil {
		t.Fatal(err)
	}
	if r := expectReport(t, rep, "message", nil); r.Payload != "held" {
		t.Fatalf("after thaw: %+v", r)
	}
	if err := n.Thaw(pid); !errors.Is(err, node.ErrNotFrozen) {
		t.Fatalf("thaw of a running process: %v", err)
	}
	if err := n.HandoffTo(context.Background(), pid, pid); !errors.Is(err, node.ErrBadArg) {
		t.Fatalf("handoff to itself: %v", err)
	}
	other := spawnProbe(t, n, c.Name(0), probeArgs{})
	if err := n.HandoffTo(context.Background(), pid, other); !errors.Is(err, node.ErrNotFrozen) {
		t.Fatalf("handoff of a running process: %v", err)
	}
}

// A Freeze that times out (the process is busy) leaves the process running.
func TestFreezeTimeoutDoesNotFreeze(t *testing.T) {
	c := cluster(t, 1, nodetest.Options{})
	n := c.Node(0)
	pid := spawnProbe(t, n, c.Name(0), probeArgs{})
	gateName, openGate := newGate(t)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = do(t, n, pid, cmd{Op: "block", Text: gateName})
	}()
	nodetest.WaitFor(t, wait, "busy", func() bool { return n.Stats().PendingCalls == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, _, err := n.Freeze(ctx, pid); !errors.Is(err, node.ErrTimeout) {
		t.Fatalf("freeze of a busy process: %v", err)
	}
	openGate()
	<-done
	if got := string(mustDo(t, n, pid, cmd{Op: "echo", Text: "running"})); got != "running" {
		t.Fatalf("process after an abandoned freeze: %q", got)
	}
}

type plain struct{ node.Base }

func (plain) HandleCall(_ *node.Proc, _ node.PID, req []byte) ([]byte, error) { return req, nil }

func TestFreezeWithoutExporter(t *testing.T) {
	c := cluster(t, 1, nodetest.Options{Configure: func(_ int, cfg *node.Config) {
		cfg.Kinds = map[string]node.KindFactory{"plain": func() node.Behavior { return plain{} }}
	}})
	n := c.Node(0)
	pid, err := n.Spawn(context.Background(), "plain", nil, node.SpawnOpts{})
	if err != nil {
		t.Fatal(err)
	}
	state, exported, err := n.Freeze(context.Background(), pid)
	if err != nil || exported || state != nil {
		t.Fatalf("freeze of a kind without state: %q %v %v", state, exported, err)
	}
	if _, err := n.Spawn(context.Background(), "plain", nil, node.SpawnOpts{State: []byte("1"), HasState: true}); !errors.Is(err, node.ErrInit) {
		t.Fatalf("spawn with state of a kind without importer: %v", err)
	}
	if _, _, err := n.Freeze(context.Background(), node.PID{Node: "elsewhere@x", ID: 1}); !errors.Is(err, node.ErrBadArg) {
		t.Fatalf("freeze of a remote pid: %v", err)
	}
}

// Freeze is exclusive and its result is final when it returns: of many
// concurrent Freezes exactly one wins and the others fail at once with
// ErrFrozen (never by waiting out their deadline), and a Freeze right
// after Thaw returns succeeds.
func TestFreezeExclusive(t *testing.T) {
	c := cluster(t, 1, nodetest.Options{})
	n := c.Node(0)
	pid := spawnProbe(t, n, c.Name(0), probeArgs{})
	for round := range 50 {
		errs := make(chan error, 8)
		for range cap(errs) {
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				_, _, err := n.Freeze(ctx, pid)
				errs <- err
			}()
		}
		won := 0
		for range cap(errs) {
			switch err := <-errs; {
			case err == nil:
				won++
			case !errors.Is(err, node.ErrFrozen):
				t.Fatalf("round %d: a losing Freeze failed with %v, want ErrFrozen", round, err)
			}
		}
		if won != 1 {
			t.Fatalf("round %d: %d Freezes won, want 1", round, won)
		}
		if err := n.Thaw(pid); err != nil {
			t.Fatalf("round %d: thaw: %v", round, err)
		}
	}
}

// Stop ends a frozen process with the given reason (Terminate runs, a
// monitor sees the reason) and refuses a running one.
func TestStopFrozen(t *testing.T) {
	c := cluster(t, 1, nodetest.Options{})
	n := c.Node(0)
	rep := newReports(t, n)
	pid := spawnProbe(t, n, c.Name(0), probeArgs{Report: rep.Self()})
	if err := n.Stop(context.Background(), pid, node.Reason{Kind: node.Normal}); !errors.Is(err, node.ErrNotFrozen) {
		t.Fatalf("stop of a running process: %v", err)
	}
	watch := inbox(t, n)
	ref := watch.Monitor(pid)
	if _, _, err := n.Freeze(context.Background(), pid); err != nil {
		t.Fatal(err)
	}
	if err := n.Stop(context.Background(), pid, node.Reason{Kind: node.Normal}); err != nil {
		t.Fatal(err)
	}
	if r := expectReport(t, rep, "terminate", nil); r.Reason.Kind != node.Normal {
		t.Fatalf("terminate reason %v", r.Reason)
	}
	if d := expectDown(t, watch, ref); d.Reason.Kind != node.Normal {
		t.Fatalf("DOWN %+v", d)
	}
}
