package node

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/placerhq/placer/internal/fuzzseed"
	"github.com/placerhq/placer/internal/lossy"
	"github.com/placerhq/placer/internal/poll"
	"github.com/placerhq/placer/transport"
)

func TestMailboxBoundAndOrder(t *testing.T) {
	m := newMailbox(3)
	for i := range 5 {
		r := m.push(envelope{kind: envMsg, ref: uint64(i)}, true)
		if want := map[bool]pushResult{true: pushOK, false: pushFull}[i < 3]; r != want {
			t.Fatalf("push %d = %v, want %v", i, r, want)
		}
	}
	// Notifications are not bounded and keep their place in the order.
	for i := 5; i < 25; i++ {
		if r := m.push(envelope{kind: envDown, ref: uint64(i)}, false); r != pushOK {
			t.Fatalf("system push %d = %v", i, r)
		}
	}
	m.pushUrgent(envelope{kind: envShutdown, ref: 99})
	if e, _ := m.pop(false); e.ref != 99 {
		t.Fatalf("urgent not first: %d", e.ref)
	}
	if _, ok := m.pop(true); ok {
		t.Fatal("frozen pop returned a normal envelope")
	}
	var got []uint64
	for e, ok := m.pop(false); ok; e, ok = m.pop(false) {
		got = append(got, e.ref)
	}
	want := []uint64{0, 1, 2}
	for i := 5; i < 25; i++ {
		want = append(want, uint64(i))
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("order %v, want %v", got, want)
	}
	if m.dropped.Load() != 2 || m.user != 0 {
		t.Fatalf("dropped %d user %d", m.dropped.Load(), m.user)
	}
	m.push(envelope{kind: envCall}, true)
	if left := m.close(); len(left) != 1 || m.push(envelope{}, false) != pushClosed {
		t.Fatalf("close left %d", len(left))
	}
}

func TestWireEncodings(t *testing.T) {
	pid := PID{Node: "a@b", ID: 1 << 40, Creation: 7}
	if got, err := decodePID(appendPID(nil, pid)); err != nil || got != pid {
		t.Fatalf("pid round trip %v %v", got, err)
	}
	opts := SpawnOpts{Name: "n", State: []byte{1, 2}, HasState: true, LinkTo: pid}
	args, got, err := decodeSpawn(encodeSpawn([]byte("args"), opts))
	if err != nil || string(args) != "args" || got.Name != "n" || !bytes.Equal(got.State, opts.State) || got.LinkTo != pid {
		t.Fatalf("spawn round trip %q %+v %v", args, got, err)
	}
	fn, rargs, err := decodeRPC(encodeRPC("abs", []byte("-1")))
	if err != nil || fn != "abs" || string(rargs) != "-1" {
		t.Fatalf("rpc round trip %q %q %v", fn, rargs, err)
	}
	for _, r := range []Reason{{Kind: Normal}, {Kind: Error, Err: "x"}, {Kind: Handoff, NewPID: pid}} {
		m := &transport.Message{}
		wireReason(m, r)
		if back := reasonFromWire(m); back != r {
			t.Fatalf("reason %v came back as %v", r, back)
		}
	}
	for _, e := range []error{ErrNoProc, ErrMailboxFull, ErrTimeout, ErrBusy, errors.New("user")} {
		st, text := statusOf(e)
		back := errorOf(st, text)
		if want := map[bool]error{true: ErrHandler, false: e}[st == stHandler]; !errors.Is(back, want) {
			t.Fatalf("%v came back as %v", e, back)
		}
	}
}

// spawnSeeds are FuzzDecodeSpawn's seeds, kept as commented files in
// testdata/fuzz/FuzzDecodeSpawn (go test ./node -run TestFuzzSeedFiles
// -update-seeds rewrites them from this list).
func spawnSeeds() []fuzzseed.Seed {
	return []fuzzseed.Seed{
		{Name: "00-minimal", Comment: "a spawn request with arguments and no options",
			Data: encodeSpawn([]byte("args"), SpawnOpts{})},
		{Name: "01-state", Comment: "a registered name and handed-off state (Init then ImportState)",
			Data: encodeSpawn(nil, SpawnOpts{Name: "n", State: []byte("s"), HasState: true})},
		{Name: "02-link", Comment: "spawn_link: the caller's PID to link to",
			Data: encodeSpawn(nil, SpawnOpts{LinkTo: PID{Node: "a@b", ID: 3, Creation: 4}})},
		{Name: "03-huge-length", Comment: "link and state flags with a length prefix far beyond the input: must be refused, not allocated",
			Data: []byte{spawnVersion, spawnFlagLink | spawnFlagState, 0xff, 0xff, 0xff, 0xff, 1}},
		{Name: "04-bad-version", Comment: "an unknown encoding version", Data: []byte{spawnVersion + 1, 0}},
		{Name: "05-empty", Comment: "no bytes at all", Data: []byte{}},
	}
}

var updateSeeds = flag.Bool("update-seeds", false, "rewrite the testdata/fuzz seed files from the seed lists")

const seedRoot = "../testdata/fuzz"

// rpcSeeds are FuzzDecodeRPC's seeds (testdata/fuzz/FuzzDecodeRPC).
func rpcSeeds() []fuzzseed.Seed {
	return []fuzzseed.Seed{
		{Name: "00-abs", Comment: "the seed's :rpc.call(node, Kernel, :abs, [-1]): function name, then the arguments",
			Data: encodeRPC(RPCAbs, []byte("-1"))},
		{Name: "01-no-args", Comment: "node.info with no arguments", Data: encodeRPC(RPCNodeInfo, nil)},
		{Name: "02-huge-length", Comment: "a name length far beyond the input: must be refused",
			Data: []byte{0xff, 0xff, 0xff, 0xff, 0x0f, 'a'}},
		{Name: "03-empty", Comment: "no bytes at all", Data: []byte{}},
	}
}

// pidSeeds are FuzzDecodePID's seeds (testdata/fuzz/FuzzDecodePID): the
// PID in a handoff DOWN, a spawn reply and a spawn_link request.
func pidSeeds() []fuzzseed.Seed {
	return []fuzzseed.Seed{
		{Name: "00-pid", Comment: "node name length (2 bytes), name, id (8), creation (4)",
			Data: appendPID(nil, PID{Node: "n1@127.0.0.1", ID: 42, Creation: 7})},
		{Name: "01-trailing", Comment: "a PID followed by a byte too many: must be refused",
			Data: append(appendPID(nil, PID{Node: "a@b", ID: 1, Creation: 1}), 0)},
		{Name: "02-short", Comment: "a name length beyond the input", Data: []byte{0xff, 0xff, 'a'}},
	}
}

// TestFuzzSeedFiles checks that the seed files match the seed lists (or
// rewrites them with -update-seeds).
func TestFuzzSeedFiles(t *testing.T) {
	fuzzseed.Check(t, seedRoot, map[string][]fuzzseed.Seed{
		"FuzzDecodeSpawn": spawnSeeds(), "FuzzDecodeRPC": rpcSeeds(), "FuzzDecodePID": pidSeeds(),
	}, *updateSeeds, "go test ./node -run TestFuzzSeedFiles -update-seeds")
}

// FuzzDecodeRPC feeds arbitrary rpc requests (peer-controlled bytes) to the
// decoder: it must never panic, and what it accepts must re-encode to the
// same name and arguments. Seeds: testdata/fuzz/FuzzDecodeRPC.
func FuzzDecodeRPC(f *testing.F) {
	fuzzseed.Add(f, seedRoot, "FuzzDecodeRPC")
	f.Fuzz(func(t *testing.T, b []byte) {
		fn, args, err := decodeRPC(b)
		if err != nil {
			if !errors.Is(err, ErrBadArg) {
				t.Fatalf("error %v does not wrap ErrBadArg", err)
			}
			return
		}
		fn2, args2, err := decodeRPC(encodeRPC(fn, args))
		if err != nil || fn2 != fn || !bytes.Equal(args2, args) {
			t.Fatalf("re-encoding %x changed the request: %q %x -> %q %x %v", b, fn, args, fn2, args2, err)
		}
	})
}

// FuzzDecodePID feeds arbitrary bytes to the PID decoder: it must never
// panic, and a PID it accepts re-encodes to exactly the input (the encoding
// is canonical). Seeds: testdata/fuzz/FuzzDecodePID.
func FuzzDecodePID(f *testing.F) {
	fuzzseed.Add(f, seedRoot, "FuzzDecodePID")
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := decodePID(b)
		if err != nil {
			if !errors.Is(err, ErrBadArg) {
				t.Fatalf("error %v does not wrap ErrBadArg", err)
			}
			return
		}
		if back := appendPID(nil, p); !bytes.Equal(back, b) {
			t.Fatalf("%x decoded to %+v, which encodes to %x", b, p, back)
		}
	})
}

// FuzzDecodeSpawn feeds arbitrary spawn-request payloads (peer-controlled
// bytes) to the decoder: it must never panic, and what it accepts must
// survive a re-encode unchanged. Seeds: testdata/fuzz/FuzzDecodeSpawn.
func FuzzDecodeSpawn(f *testing.F) {
	fuzzseed.Add(f, seedRoot, "FuzzDecodeSpawn")
	f.Fuzz(func(t *testing.T, b []byte) {
		args, opts, err := decodeSpawn(b)
		if err != nil {
			return
		}
		// Uvarints have several encodings, so compare decoded values.
		a2, o2, err := decodeSpawn(encodeSpawn(args, opts))
		if err != nil || !bytes.Equal(a2, args) || o2.Name != opts.Name || o2.HasState != opts.HasState ||
			!bytes.Equal(o2.State, opts.State) || o2.LinkTo != opts.LinkTo {
			t.Fatalf("re-encoding %x changed the request: %+v %+v %v", b, opts, o2, err)
		}
	})
}

// fakeTransport records what the node sends and lets a test play the peer.
type fakeTransport struct {
	mu     sync.Mutex
	sent   []*transport.Message
	h      transport.Handler
	onSend func(node string) error // if set, runs before a send and its error fails it
}

func (f *fakeTransport) Name() string { return "me@test" }
func (f *fakeTransport) Addr() string { return "" }
func (f *fakeTransport) Send(_ context.Context, node string, m *transport.Message) error {
	if f.onSend != nil {
		if err := f.onSend(node); err != nil {
			return err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	cp := *m
	f.sent = append(f.sent, &cp)
	return nil
}
func (f *fakeTransport) Connect(context.Context, string) error { return nil }
func (f *fakeTransport) Disconnect(string) error               { return nil }
func (f *fakeTransport) Peers() []transport.PeerInfo           { return nil }
func (f *fakeTransport) SetAddr(string, string)                {}
func (f *fakeTransport) Close() error                          { return nil }

func (f *fakeTransport) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.sent)
}

func (f *fakeTransport) last() *transport.Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.sent[len(f.sent)-1]
}

// viaTransport is a fakeTransport that reports the peer incarnation a
// frame went to (transport.CreationSender).
type viaTransport struct {
	*fakeTransport
	via atomic.Uint32
}

func (v *viaTransport) SendCreation(ctx context.Context, node string, m *transport.Message) (uint32, error) {
	if err := v.Send(ctx, node, m); err != nil {
		return 0, err
	}
	return v.via.Load(), nil
}

func fakeNode(t *testing.T) (*Node, *fakeTransport) {
	t.Helper()
	ft := &fakeTransport{}
	return fakeNodeOn(t, ft, ft), ft
}

// fakeNodeOn starts a node on tr, whose handler ft plays the peer with.
func fakeNodeOn(t *testing.T, ft *fakeTransport, tr transport.Transport) *Node {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Name = "me@test"
	cfg.Transport = func(_ TransportParams, h transport.Handler) (transport.Transport, error) {
		ft.h = h
		return tr, nil
	}
	n, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Close() })
	return n
}

// A late PeerDown of a peer's old incarnation fails only what was aimed at
// that incarnation (or at a name); calls, monitors and links aimed at the
// new incarnation's PIDs stay.
func TestPeerDownScopedToIncarnation(t *testing.T) {
	n, ft := fakeNode(t)
	old := transport.PeerInfo{Name: "p@test", Creation: 1}
	ft.h.PeerUp(old)
	ib, _ := n.NewInbox()
	newPID := PID{Node: "p@test", ID: 5, Creation: 2}
	oldPID := PID{Node: "p@test", ID: 5, Creation: 1}
	refNew, refOld := ib.Monitor(newPID), ib.Monitor(oldPID)
	type result struct {
		which string
		err   error
	}
	results := make(chan result, 2)
	for which, d := range map[string]Dest{"new": newPID, "name": Named{Name: "x", Node: "p@test"}} {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			_, err := n.Call(ctx, d, nil)
			results <- result{which, err}
		}()
	}
	poll.CheckFor(t, 10*time.Second, poll.Cond(func() bool { return n.Stats().PendingCalls >= 2 },
		func() string { return "two calls pending" }))
	ft.h.PeerDown(old, transport.ErrConnClosed)
	for range 2 {
		r := <-results
		want := map[string]error{"new": ErrTimeout, "name": ErrNoConnection}[r.which]
		if !errors.Is(r.err, want) {
			t.Fatalf("call to %s: %v, want %v", r.which, r.err, want)
		}
	}
	m, err := ib.Receive(context.Background())
	if d, ok := m.(Down); err != nil || !ok || d.Ref != refOld || d.Reason.Kind != NoConnection {
		t.Fatalf("got %#v %v, want the old incarnation's DOWN", m, err)
	}
	if !ib.Demonitor(refNew) {
		t.Fatal("the new incarnation's monitor fired")
	}
}

// A connection lost while a call is being sent fails the call once: the
// PeerDown that fails the pending calls and the send's own error must not
// both answer it (CallAsync calls reply exactly once; a caller counting
// answers, as placement's replication does, would otherwise take the
// duplicate for another backup's answer).
func TestCallLostDuringSendAnsweredOnce(t *testing.T) {
	n, ft := fakeNode(t)
	peer := transport.PeerInfo{Name: "p@test", Creation: 1}
	ft.h.PeerUp(peer)
	ft.onSend = func(string) error {
		ft.h.PeerDown(peer, transport.ErrConnClosed)
		return fmt.Errorf("%w: reset", transport.ErrNoConnection)
	}
	var answers atomic.Int32
	n.CallAsync(Named{Name: "x", Node: "p@test"}, nil, time.Now().Add(time.Minute), func(_ []byte, err error) {
		if !errors.Is(err, ErrNoConnection) || !errors.Is(err, transport.ErrNoConnection) {
			t.Errorf("answer %v, want the send's own error (the request never left)", err)
		}
		answers.Add(1)
	})
	if got := answers.Load(); got != 1 {
		t.Fatalf("CallAsync answered %d times, want once", got)
	}
	ft.h.PeerUp(peer)
	_, err := n.Call(context.Background(), Named{Name: "x", Node: "p@test"}, nil)
	if !errors.Is(err, transport.ErrNoConnection) {
		t.Fatalf("Call: %v, want the send's own error (a client may send it elsewhere: it never left)", err)
	}
	// A connection lost while a send that succeeds is under way answers
	// the call with the loss, once the send returned.
	ft.h.PeerUp(peer)
	ft.onSend = func(string) error {
		ft.h.PeerDown(peer, transport.ErrConnClosed)
		return nil
	}
	if _, err := n.Call(context.Background(), Named{Name: "x", Node: "p@test"}, nil); !errors.Is(err, ErrNoConnection) || !errors.Is(err, transport.ErrConnClosed) {
		t.Fatalf("Call whose connection was lost during a good send: %v, want the loss", err)
	}
	if p := n.Stats().PendingCalls; p != 0 {
		t.Fatalf("%d calls still pending", p)
	}
}

// restartedPeer starts a node on a transport that reports incarnations,
// with peer p@test up in incarnation old and then cur (its restart), and
// frames going to cur.
func restartedPeer(t *testing.T) (n *Node, ft *fakeTransport, old, cur transport.PeerInfo) {
	t.Helper()
	ft = &fakeTransport{}
	vt := &viaTransport{fakeTransport: ft}
	n = fakeNodeOn(t, ft, vt)
	old, cur = transport.PeerInfo{Name: "p@test", Creation: 1}, transport.PeerInfo{Name: "p@test", Creation: 2}
	ft.h.PeerUp(old)
	ft.h.PeerUp(cur)
	vt.via.Store(cur.Creation)
	return n, ft, old, cur
}

// A call or spawn aimed at a name carries no creation. Once the transport
// says which incarnation's connection took it, the late PeerDown of an
// earlier incarnation (a node restarted under the same name) does not fail
// it, also when that PeerDown comes while the request is being sent; the
// loss of the connection it went out on does.
func TestCallBoundToConnectionIncarnation(t *testing.T) {
	n, ft, old, cur := restartedPeer(t)
	results := make(chan error, 3)
	call := func(ctx context.Context) {
		_, err := n.Call(ctx, Named{Name: "x", Node: "p@test"}, nil)
		results <- err
	}
	// 1: the old incarnation's PeerDown comes while the call is sent.
	ft.onSend = func(string) error {
		ft.onSend = nil
		ft.h.PeerDown(old, transport.ErrConnClosed)
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go call(ctx)
	// 2: a call already sent, then the old PeerDown again (as a transport
	// would deliver it late), and a spawn.
	poll.CheckFor(t, 10*time.Second, poll.Cond(func() bool { return ft.count() >= 1 },
		func() string { return "the first call sent" }))
	go call(ctx)
	go func() {
		_, err := n.SpawnOn(ctx, "p@test", KindEcho, nil, SpawnOpts{})
		results <- err
	}()
	poll.CheckFor(t, 10*time.Second, poll.Cond(func() bool { return ft.count() >= 3 },
		func() string { return fmt.Sprintf("%d of 3 requests sent", ft.count()) }))
	ft.h.PeerDown(old, transport.ErrConnClosed)
	select {
	case err := <-results:
		t.Fatalf("the old incarnation's loss answered a request sent to the new one: %v", err)
	case <-time.After(20 * time.Millisecond):
	}
	if p := n.Stats().PendingCalls; p != 3 {
		t.Fatalf("%d calls pending, want 3", p)
	}
	// The loss of the connection they went out on fails all three.
	ft.h.PeerDown(cur, transport.ErrConnClosed)
	for range 3 {
		if err := <-results; !errors.Is(err, ErrNoConnection) || !errors.Is(err, transport.ErrConnClosed) {
			t.Fatalf("after the new connection's loss: %v, want ErrNoConnection", err)
		}
	}
}

// A monitor by name of a remote process is bound to the incarnation whose
// connection took its request, as calls are: the late PeerDown of an
// earlier incarnation does not fire it, also when it comes while the
// request is being sent; the loss of the connection it went out on does.
func TestNameMonitorBoundToConnectionIncarnation(t *testing.T) {
	n, ft, old, cur := restartedPeer(t)
	ib, err := n.NewInbox()
	if err != nil {
		t.Fatal(err)
	}
	name := Named{Name: "x", Node: "p@test"}
	ft.onSend = func(string) error { // the old incarnation's loss during the send
		ft.onSend = nil
		ft.h.PeerDown(old, transport.ErrConnClosed)
		return nil
	}
	during := ib.Monitor(name)
	after := ib.Monitor(name)
	ft.h.PeerDown(old, transport.ErrConnClosed) // late, again
	if !ib.Demonitor(during) || !ib.Demonitor(after) {
		t.Fatal("the old incarnation's loss fired a name monitor set up over the new one's connection")
	}
	ref := ib.Monitor(name)
	ft.h.PeerDown(cur, transport.ErrConnClosed)
	m, err := ib.Receive(context.Background())
	if d, ok := m.(Down); err != nil || !ok || d.Ref != ref || d.Reason.Kind != NoConnection {
		t.Fatalf("got %#v %v, want the DOWN noconnection of the new connection's loss", m, err)
	}
	// Without the incarnation (a transport that does not report it), any
	// loss of the node fires a name monitor, as before.
	ft2 := &fakeTransport{}
	n2 := fakeNodeOn(t, ft2, ft2)
	ft2.h.PeerUp(cur)
	ib2, _ := n2.NewInbox()
	ref2 := ib2.Monitor(name)
	ft2.h.PeerDown(old, transport.ErrConnClosed)
	m, err = ib2.Receive(context.Background())
	if d, ok := m.(Down); err != nil || !ok || d.Ref != ref2 || d.Reason.Kind != NoConnection {
		t.Fatalf("got %#v %v, want DOWN noconnection", m, err)
	}
}

// Frames that claim to come from another node's process are dropped.
func TestForeignRelationFramesDropped(t *testing.T) {
	n, ft := fakeNode(t)
	ft.h.PeerUp(transport.PeerInfo{Name: "p@test", Creation: 1})
	ib, _ := n.NewInbox()
	forged := transport.PID{Node: "q@test", ID: 1, Creation: 1}
	ft.h.HandleMessage("p@test", &transport.Message{Type: transport.FrameLink, From: forged, To: wirePID(ib.Self())})
	ft.h.HandleMessage("p@test", &transport.Message{Type: transport.FrameMonitor, From: forged, To: wirePID(ib.Self()), Ref: 1})
	info, err := n.ProcessInfo(ib.Self())
	if err != nil || info.Links != 0 || info.MonitoredBy != 0 {
		t.Fatalf("forged frames took effect: %+v %v", info, err)
	}
	// A malformed spawn request is answered with an error, not a panic.
	ft.h.HandleMessage("p@test", &transport.Message{
		Type: transport.FrameSpawnRequest, From: transport.PID{Node: "p@test"}, ToName: KindEcho, Ref: 9, Payload: []byte{9},
	})
	if m := ft.last(); m.Type != transport.FrameSpawnReply || m.Status != stBadArg {
		t.Fatalf("reply %+v", m)
	}
}

// A handler error that crosses two hops (a service that answers with the
// error of a call it made itself) names ErrHandler once, not twice.
func TestHandlerErrorPrefixOnce(t *testing.T) {
	first := errorOf(statusOf(errors.New("bad request")))
	if !errors.Is(first, ErrHandler) {
		t.Fatalf("first hop: %v", first)
	}
	for name, err := range map[string]error{
		"remote": errorOf(statusOf(first)),
		"local":  localErr(first),
	} {
		if !errors.Is(err, ErrHandler) || strings.Count(err.Error(), ErrHandler.Error()) != 1 {
			t.Errorf("%s second hop: %q", name, err)
		}
	}
}

// A subscriber that never reads loses the oldest events, and the Dropped
// counts of the events it finally reads add up to exactly what was lost,
// also when a dropped event itself carried a count.
func TestEventSubDroppedCountsExact(t *testing.T) {
	s := lossy.New(2, nodeEventDropped)
	const total = 50
	for i := range total {
		s.Offer(NodeEvent{Node: fmt.Sprint(i)})
	}
	var got, dropped uint64
	for len(s.C()) > 0 {
		ev := <-s.C()
		got++
		dropped += ev.Dropped
	}
	if got+dropped != total {
		t.Fatalf("read %d, reported %d dropped: %d events accounted for, %d offered", got, dropped, got+dropped, total)
	}
}
