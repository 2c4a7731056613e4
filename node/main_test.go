package node_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/node/nodetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const wait = 5 * time.Second

// probe is a scriptable test kind. Its args are a probeArgs; it reports
// every message, notification and its Terminate to Report, and runs the
// command it is called with.
type probe struct {
	node.Base
	args probeArgs
	n    int // messages handled
}

type probeArgs struct {
	Report   node.PID // where to report (zero = nowhere)
	Trap     bool
	Name     string
	State    int  // initial state for handoff tests
	FailInit bool // Init returns an error
}

// report is what a probe tells its Report PID.
type report struct {
	Kind    string // message, down, exit, nodeup, nodedown, terminate, state
	Self    node.PID
	From    node.PID
	PID     node.PID
	Name    string
	Node    string
	Ref     node.Ref
	Reason  node.Reason
	Payload string
	N       int
}

// cmd is what a probe is called with.
type cmd struct {
	Op     string // echo, fail, panic, exit, link, unlink, monitor, demonitor, trap, sleep, call, defer, send, state
	PID    node.PID
	Name   string
	Node   string
	Reason node.Reason
	Text   string
	Dur    time.Duration
	Ref    node.Ref
}

func newProbe() node.Behavior { return &probe{} }

// gates are what the probe's "block" op waits on, by name: a test holds a
// process busy for exactly as long as it needs to (no sleep that a loaded
// machine could outlast).
var gates sync.Map // name -> chan struct{}

func gate(name string) chan struct{} {
	ch, _ := gates.LoadOrStore(name, make(chan struct{}))
	return ch.(chan struct{})
}

// entered is closed when a process first blocks on the gate name: the
// process is then inside its handler (its mailbox no longer holds the
// call), which a mailbox length of 0 alone cannot tell from "not arrived
// yet".
var entered sync.Map // name -> *enteredGate

type enteredGate struct {
	once sync.Once
	ch   chan struct{}
}

func gateEntered(name string) *enteredGate {
	g, _ := entered.LoadOrStore(name, &enteredGate{ch: make(chan struct{})})
	return g.(*enteredGate)
}

// waitEntered waits until a process blocks on the gate name.
func waitEntered(t *testing.T, name string) {
	t.Helper()
	select {
	case <-gateEntered(name).ch:
	case <-time.After(wait):
		t.Fatalf("no process blocked on gate %s within %v", name, wait)
	}
}

// newGate returns a fresh gate's name and its release, also run at cleanup.
func newGate(t *testing.T) (string, func()) {
	name := t.Name() + "/" + fmt.Sprint(time.Now().UnixNano())
	ch := gate(name)
	var once sync.Once
	release := func() { once.Do(func() { close(ch) }) }
	t.Cleanup(release)
	return name, release
}

func (p *probe) Init(pr *node.Proc, args []byte) error {
	if len(args) > 0 {
		if err := json.Unmarshal(args, &p.args); err != nil {
			return err
		}
	}
	if p.args.FailInit {
		return errors.New("init refused")
	}
	pr.TrapExit(p.args.Trap)
	p.n = p.args.State
	return nil
}

func (p *probe) tell(pr *node.Proc, r report) {
	if p.args.Report.IsZero() {
		return
	}
	r.Self = pr.Self()
	b, _ := json.Marshal(r)
	_ = pr.Send(p.args.Report, b)
}

func (p *probe) HandleMessage(pr *node.Proc, m node.Msg) {
	switch m := m.(type) {
	case node.Message:
		p.n++
		p.tell(pr, report{Kind: "message", From: m.From, Payload: string(m.Payload), N: p.n})
	case node.Down:
		p.tell(pr, report{Kind: "down", PID: m.PID, Name: m.Name, Node: m.Node, Ref: m.Ref, Reason: m.Reason})
	case node.Exit:
		p.tell(pr, report{Kind: "exit", From: m.From, Reason: m.Reason})
	case node.NodeUp:
		p.tell(pr, report{Kind: "nodeup", Node: m.Node})
	case node.NodeDown:
		p.tell(pr, report{Kind: "nodedown", Node: m.Node})
	}
}

func (p *probe) Terminate(pr *node.Proc, r node.Reason) {
	p.tell(pr, report{Kind: "terminate", Reason: r})
}

func (p *probe) ExportState(*node.Proc) ([]byte, error) { return json.Marshal(p.n) }

func (p *probe) ImportState(_ *node.Proc, state []byte) error { return json.Unmarshal(state, &p.n) }

func (p *probe) HandleCall(pr *node.Proc, from node.PID, req []byte) ([]byte, error) {
	var c cmd
	if err := json.Unmarshal(req, &c); err != nil {
		return nil, err
	}
	switch c.Op {
	case "echo":
		return []byte(c.Text), nil
	case "fail":
		return nil, errors.New(c.Text)
	case "panic":
		panic(c.Text)
	case "exit":
		pr.Exit(c.Reason)
		return []byte("ok"), nil
	case "sleep":
		time.Sleep(c.Dur)
		return []byte("slept"), nil
	case "block":
		g := gateEntered(c.Text)
		g.once.Do(func() { close(g.ch) })
		<-gate(c.Text)
		return []byte("released"), nil
	case "state":
		return json.Marshal(p.n)
	}
	return p.relationCall(pr, c)
}

func (p *probe) relationCall(pr *node.Proc, c cmd) ([]byte, error) {
	switch c.Op {
	case "link":
		return nil, pr.Link(c.PID)
	case "unlink":
		pr.Unlink(c.PID)
		return nil, nil
	case "trap":
		pr.TrapExit(c.Text == "on")
		return nil, nil
	case "monitor":
		var d node.Dest = c.PID
		if c.Name != "" {
			d = node.Named{Name: c.Name, Node: c.Node}
		}
		return json.Marshal(pr.Monitor(d))
	case "demonitor":
		return json.Marshal(pr.Demonitor(c.Ref))
	case "monitor_node":
		pr.MonitorNode(context.Background(), c.Node)
		return nil, nil
	case "call":
		ctx, cancel := context.WithTimeout(context.Background(), c.Dur)
		defer cancel()
		return pr.Call(ctx, c.PID, []byte(`{"Op":"echo","Text":"inner"}`))
	case "defer":
		r := pr.DeferReply()
		go func() {
			time.Sleep(c.Dur)
			r.Send([]byte("deferred "+c.Text), nil)
		}()
		return nil, nil
	case "send":
		return nil, pr.Send(c.PID, []byte(c.Text))
	}
	return nil, fmt.Errorf("unknown op %q", c.Op)
}

// cutOff separates member i from the others: a cut on memnet, a crash on
// TCP (where links cannot be cut).
func cutOff(t *testing.T, c *nodetest.Cluster, i int) {
	t.Helper()
	if c.Net == nil {
		if err := c.Crash(i); err != nil {
			t.Fatal(err)
		}
		return
	}
	if err := c.Isolate(i); err != nil {
		t.Fatal(err)
	}
}

// cluster starts n nodes (memnet unless opts say otherwise) with the probe kind, fully connected.
func cluster(t *testing.T, n int, opts nodetest.Options) *nodetest.Cluster {
	t.Helper()
	conf := opts.Configure
	opts.Configure = func(i int, cfg *node.Config) {
		cfg.Kinds = map[string]node.KindFactory{"probe": newProbe}
		if conf != nil {
			conf(i, cfg)
		}
	}
	c := nodetest.New(t, n, opts)
	if err := c.ConnectAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	return c
}

func inbox(t *testing.T, n *node.Node) *node.Inbox {
	t.Helper()
	ib, err := n.NewInbox()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ib.Close)
	return ib
}

// spawnProbe starts a probe on target (from n) reporting to report.
func spawnProbe(t *testing.T, n *node.Node, target string, a probeArgs) node.PID {
	t.Helper()
	args, _ := json.Marshal(a)
	pid, err := n.SpawnOn(context.Background(), target, "probe", args, node.SpawnOpts{Name: a.Name})
	if err != nil {
		t.Fatalf("spawn probe on %s: %v", target, err)
	}
	return pid
}

// do calls a probe with a command.
func do(t *testing.T, n *node.Node, pid node.PID, c cmd) ([]byte, error) {
	t.Helper()
	b, _ := json.Marshal(c)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	return n.Call(ctx, pid, b)
}

func mustDo(t *testing.T, n *node.Node, pid node.PID, c cmd) []byte {
	t.Helper()
	out, err := do(t, n, pid, c)
	if err != nil {
		t.Fatalf("%s on %s: %v", c.Op, pid, err)
	}
	return out
}

// reports collects probe reports sent to an inbox, keeping those a test
// has not asked for yet.
type reports struct {
	ib      *node.Inbox
	pending []report
}

func newReports(t *testing.T, n *node.Node) *reports { return &reports{ib: inbox(t, n)} }

// Self is the PID to give probes as Report.
func (rs *reports) Self() node.PID { return rs.ib.Self() }

// expectReport waits for a report of kind that satisfies ok (nil = any);
// other reports are kept for later calls.
func expectReport(t *testing.T, rs *reports, kind string, ok func(report) bool) report {
	t.Helper()
	match := func(r report) bool { return r.Kind == kind && (ok == nil || ok(r)) }
	for i, r := range rs.pending {
		if match(r) {
			rs.pending = append(rs.pending[:i], rs.pending[i+1:]...)
			return r
		}
	}
	var got report
	nodetest.Expect(t, rs.ib, wait, "report "+kind, func(m node.Msg) bool {
		msg, isMsg := m.(node.Message)
		var r report
		if !isMsg || json.Unmarshal(msg.Payload, &r) != nil {
			return false
		}
		if match(r) {
			got = r
			return true
		}
		rs.pending = append(rs.pending, r)
		return false
	})
	return got
}

// noReport checks that no report of kind satisfying ok arrives within d.
func noReport(t *testing.T, rs *reports, d time.Duration, kind string, ok func(report) bool) {
	t.Helper()
	match := func(r report) bool { return r.Kind == kind && (ok == nil || ok(r)) }
	for _, r := range rs.pending {
		if match(r) {
			t.Fatalf("unexpected report %+v", r)
		}
	}
	noMessage(t, rs.ib, d, "report "+kind, func(m node.Msg) bool {
		msg, isMsg := m.(node.Message)
		var r report
		if !isMsg || json.Unmarshal(msg.Payload, &r) != nil {
			return false
		}
		rs.pending = append(rs.pending, r)
		return match(r)
	})
}

// expectDown waits for a Down on ref at an inbox.
func expectDown(t *testing.T, ib *node.Inbox, ref node.Ref) node.Down {
	t.Helper()
	m := nodetest.Expect(t, ib, wait, "down", func(m node.Msg) bool {
		d, ok := m.(node.Down)
		return ok && d.Ref == ref
	})
	return m.(node.Down)
}

// expectDowns waits for one Down per ref, in any order, and fails on a
// second Down for any of them.
func expectDowns(t *testing.T, ib *node.Inbox, refs []node.Ref) map[node.Ref]node.Down {
	t.Helper()
	want := map[node.Ref]bool{}
	for _, r := range refs {
		want[r] = true
	}
	got := map[node.Ref]node.Down{}
	for len(got) < len(want) {
		m := nodetest.Expect(t, ib, wait, "downs", func(m node.Msg) bool { _, ok := m.(node.Down); return ok })
		d := m.(node.Down)
		if _, dup := got[d.Ref]; dup || !want[d.Ref] {
			t.Fatalf("unexpected or second DOWN %+v", d)
		}
		got[d.Ref] = d
	}
	return got
}

// noMessage checks that ib receives nothing matching within d.
func noMessage(t *testing.T, ib *node.Inbox, d time.Duration, what string, match func(node.Msg) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	for {
		m, err := ib.Receive(ctx)
		if err != nil {
			return
		}
		if match(m) {
			t.Fatalf("unexpected %s: %#v", what, m)
		}
	}
}
