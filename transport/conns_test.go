package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// dialledBy reports which side dialled the connection between a and b:
// the acceptor sees the dialler's ephemeral port, the dialler sees the
// acceptor's listening address.
func dialledBy(a, b *node) string {
	for _, p := range a.ep.Peers() {
		if p.Name == b.ep.Name() && p.Addr == b.ep.Addr() {
			return a.ep.Name()
		}
	}
	return b.ep.Name()
}

// TestSimultaneousConnect makes both nodes dial each other at once (held at
// a barrier so both dials are in flight before either is authenticated)
// while both send: exactly one connection survives, the smaller name's
// outbound one, and no message is lost.
func TestSimultaneousConnect(t *testing.T) {
	for round := 0; round < 8; round++ {
		barrier := true
		if round%2 == 1 {
			barrier = false // free-running interleavings too
		}
		t.Run(fmt.Sprintf("round%d-barrier=%v", round, barrier), func(t *testing.T) {
			simultaneous(t, barrier)
		})
	}
}

func simultaneous(t *testing.T, barrier bool) {
	var wg sync.WaitGroup
	wg.Add(2)
	hooks := &testHooks{beforeAuth: func(string) {
		if barrier {
			wg.Done()
			wg.Wait()
		}
	}}
	a, b := startPair(t, func(c *Config) { c.hooks = hooks })
	ctx := ctxT(t)
	const n = 50
	errs := make(chan error, 2)
	for _, pair := range [][2]*node{{a, b}, {b, a}} {
		from, to := pair[0], pair[1]
		go func() {
			for i := 0; i < n; i++ {
				if err := from.ep.Send(ctx, to.ep.Name(), seqMsg(pid(from.ep.Name(), 1), pid(to.ep.Name(), 1), i)); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for i := 0; i < 2; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 5*time.Second, "all messages", func() bool {
		return a.rec.count("msg", "") == n && b.rec.count("msg", "") == n
	})
	for _, x := range []*node{a, b} {
		if ups, downs := x.rec.count("up", ""), x.rec.count("down", ""); ups != 1 || downs != 0 {
			t.Fatalf("%s: %d PeerUps, %d PeerDowns; want one connection", x.ep.Name(), ups, downs)
		}
		for i, m := range x.rec.messages() {
			if want := string(seqMsg(PID{}, PID{}, i).Payload); string(m.Payload) != want {
				t.Fatalf("%s: message %d is %q, want %q", x.ep.Name(), i, m.Payload, want)
			}
		}
	}
	if barrier {
		if by := dialledBy(a, b); by != a.ep.Name() {
			t.Errorf("surviving connection dialled by %s, want the smaller name %s", by, a.ep.Name())
		}
	}
}

// TestAliveReplaceAndAbort: a peer that dials while we hold a connection to
// it (same incarnation) gets ALIVE; Confirm(replace) swaps the connection
// (PeerDown then PeerUp), Confirm(abort) leaves the old one alone.
func TestAliveReplaceAndAbort(t *testing.T) {
	a := startNode(t, testConfig("a@127.0.0.1"))
	o := rawOpts{name: "r@127.0.0.1", creation: 3, replace: true}
	first, err := dialRaw(t, a.ep.Addr(), a.ep.Name(), o)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "PeerUp", func() bool { return a.rec.count("up", "") == 1 })
	if _, err := dialRaw(t, a.ep.Addr(), a.ep.Name(), o); err != nil {
		t.Fatalf("replace: %v", err)
	}
	waitFor(t, 5*time.Second, "the old connection down, the new one up", func() bool {
		return a.rec.count("down", "") == 1 && a.rec.count("up", "") == 2
	})
	mustIs(t, a.rec.lastDown("r@127.0.0.1"), ErrConnClosed)
	if _, err := first.nc.Read(make([]byte, 1)); err == nil {
		t.Error("the replaced connection is still open")
	}
	o.replace = false
	_, err = dialRaw(t, a.ep.Addr(), a.ep.Name(), o)
	if !errors.Is(err, errAborted) {
		t.Fatalf("abort: %v", err)
	}
	if len(a.ep.Peers()) != 1 || a.rec.count("up", "") != 2 || a.rec.count("down", "") != 1 {
		t.Fatalf("abort changed the connection: peers %+v", a.ep.Peers())
	}
}

// TestRestartedPeerReplaces: a dial from a new incarnation replaces the
// old connection at once. The old one's PeerUp may not have been delivered
// yet when it is replaced; then neither its PeerUp nor its PeerDown comes
// (Endpoint.Connect's contract). Either way the handler ends with the new
// incarnation up and every earlier PeerUp matched by its PeerDown, without
// waiting for a heartbeat timeout (the raw peers send no heartbeats: the
// timeout is set long so that only the replacement can close the old
// connection).
func TestRestartedPeerReplaces(t *testing.T) {
	cfg := testConfig("a@127.0.0.1")
	cfg.HeartbeatTimeout = time.Minute
	a := startNode(t, cfg)
	r1, err := dialRaw(t, a.ep.Addr(), a.ep.Name(), rawOpts{name: "r@127.0.0.1", creation: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer r1.nc.Close() // reachable: a collected conn is closed by its finalizer
	r2, err := dialRaw(t, a.ep.Addr(), a.ep.Name(), rawOpts{name: "r@127.0.0.1", creation: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer r2.nc.Close()
	waitFor(t, 5*time.Second, "the new incarnation up, the old one gone", func() bool {
		info, _ := a.rec.lastUp("r@127.0.0.1")
		up, down := a.rec.count("up", ""), a.rec.count("down", "")
		return info.Creation == 2 && down == up-1
	})
	if p := a.ep.Peers(); len(p) != 1 || p[0].Creation != 2 {
		t.Fatalf("peers %+v, want the new incarnation only", p)
	}
}

// TestSendCreationNamesTheIncarnation: SendCreation reports the creation
// of the peer whose connection took the frame, also after the peer
// restarted under its name (the node layer binds calls to it).
func TestSendCreationNamesTheIncarnation(t *testing.T) {
	a := startNode(t, testConfig("a@127.0.0.1"))
	for _, creation := range []uint32{1, 2} {
		bc := testConfig("b@127.0.0.1")
		bc.Creation = creation
		b := startNode(t, bc)
		a.ep.SetAddr("b@127.0.0.1", b.ep.Addr())
		m := &Message{Type: FrameSend, To: PID{Node: "b@127.0.0.1", ID: 1}}
		if c, err := a.ep.SendCreation(context.Background(), "b@127.0.0.1", m); err != nil || c != creation {
			t.Fatalf("SendCreation to incarnation %d: creation %d, %v", creation, c, err)
		}
		_ = b.ep.Close()
		waitFor(t, 5*time.Second, "a sees b go", func() bool { return len(a.ep.Peers()) == 0 })
	}
}

// TestHeartbeatTimeoutSilentPeer: a peer that completes the handshake and
// then neither reads nor writes is declared down with ErrHeartbeatTimeout.
func TestHeartbeatTimeoutSilentPeer(t *testing.T) {
	cfg := testConfig("a@127.0.0.1")
	cfg.HeartbeatInterval, cfg.HeartbeatTimeout = 20*time.Millisecond, 150*time.Millisecond
	a := startNode(t, cfg)
	if _, err := dialRaw(t, a.ep.Addr(), a.ep.Name(), rawOpts{name: "r@127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "PeerDown", func() bool { return a.rec.count("down", "") == 1 })
	mustIs(t, a.rec.lastDown("r@127.0.0.1"), ErrHeartbeatTimeout)
	if len(a.ep.Peers()) != 0 {
		t.Errorf("peers after the timeout: %+v", a.ep.Peers())
	}
}

// TestHeartbeatsKeepIdleConnection: an idle endpoint sends heartbeats, and
// a peer that keeps sending them stays connected past many timeouts.
func TestHeartbeatsKeepIdleConnection(t *testing.T) {
	// The heartbeat timeout spans several heartbeats of both sides, and the
	// connection must survive several timeouts of pure heartbeats. A
	// timeout of tens of milliseconds would measure the scheduler of a
	// loaded machine, not the transport; the peer records its own longest
	// gap between heartbeats so that a failure says which side stalled.
	cfg := testConfig("a@127.0.0.1")
	cfg.HeartbeatInterval, cfg.HeartbeatTimeout = 25*time.Millisecond, 400*time.Millisecond
	a := startNode(t, cfg)
	r, err := dialRaw(t, a.ep.Addr(), a.ep.Name(), rawOpts{name: "r@127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var beats int64
	done := make(chan struct{})
	go func() { r.countHeartbeats(&beats, &mu); close(done) }()
	stop := make(chan struct{})
	var maxGap atomic.Int64
	go func() {
		tick := time.NewTicker(25 * time.Millisecond)
		defer tick.Stop()
		last := time.Now()
		for {
			select {
			case <-stop:
				return
			case now := <-tick.C:
				if gap := now.Sub(last); gap > time.Duration(maxGap.Load()) {
					maxGap.Store(int64(gap))
				}
				last = now
				_, _ = r.nc.Write(heartbeatFrame[:])
			}
		}
	}()
	start := time.Now()
	// 40 heartbeats from A and 2.5 timeouts of nothing but heartbeats.
	waitFor(t, 10*time.Second, "40 heartbeats from A over 1 s", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return (beats >= 40 && time.Since(start) >= 1000*time.Millisecond) || a.rec.count("down", "") > 0
	})
	close(stop)
	if n := a.rec.count("down", ""); n != 0 {
		t.Fatalf("connection went down: %v (the peer's longest gap between heartbeats: %v)", a.rec.lastDown("r@127.0.0.1"), time.Duration(maxGap.Load()))
	}
	_ = r.nc.Close()
	<-done
}

// TestBadPeerIsolated: garbage from one peer closes only that peer's
// connection, with a protocol error; other peers are unaffected.
func TestBadPeerIsolated(t *testing.T) {
	cases := []struct {
		name string
		raw  []byte
		want []error
	}{
		{"unknown type", frame(FrameType(200), nil), []error{ErrProtocol}},
		{"oversize", append([]byte{byte(FrameSend)}, u32(1<<20+1)...), []error{ErrProtocol, ErrFrameTooLarge}},
		{"malformed body", frame(FrameSend, []byte{fieldFrom, pidSender, 1}), []error{ErrProtocol}},
		{"unsolicited BulkAck", frame(FrameBulkAck, u32(100)), []error{ErrProtocol}},
		{"truncated then closed", frame(FrameSend, []byte{fieldPayload, 1, 2, 3})[:7], []error{ErrConnClosed}},
	}
	a, b := startPair(t, nil)
	ctx := ctxT(t)
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			name := fmt.Sprintf("bad%d@127.0.0.1", i)
			r, err := dialRaw(t, a.ep.Addr(), a.ep.Name(), rawOpts{name: name})
			if err != nil {
				t.Fatal(err)
			}
			waitFor(t, 5*time.Second, "PeerUp", func() bool { return a.rec.count("up", name) == 1 })
			r.write(t, c.raw)
			if c.want[0] == ErrConnClosed {
				_ = r.nc.Close()
			}
			waitFor(t, 5*time.Second, "PeerDown", func() bool { return a.rec.count("down", name) == 1 })
			mustIs(t, a.rec.lastDown(name), c.want...)
			// A still talks to B.
			before := b.rec.count("msg", "")
			if err := a.ep.Send(ctx, b.ep.Name(), &Message{Type: FrameSend, Payload: []byte("still fine")}); err != nil {
				t.Fatal(err)
			}
			waitFor(t, 5*time.Second, "A→B message", func() bool { return b.rec.count("msg", "") == before+1 })
		})
	}
	if n := b.rec.count("down", ""); n != 0 {
		t.Fatalf("B saw %d PeerDowns", n)
	}
}

// stalledPeer connects a raw peer that never reads, with a small receive
// buffer so that A's socket fills quickly.
func stalledPeer(t *testing.T, cfg Config) (*node, *rawPeer) {
	t.Helper()
	a := startNode(t, cfg)
	r, err := dialRaw(t, a.ep.Addr(), a.ep.Name(), rawOpts{name: "r@127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	_ = r.nc.(*net.TCPConn).SetReadBuffer(4096)
	waitFor(t, 5*time.Second, "PeerUp", func() bool { return a.rec.count("up", "") == 1 })
	return a, r
}

// fillUntil sends 16 KiB messages until send fails, returning the error.
func fillUntil(t *testing.T, a *node, timeout time.Duration) error {
	t.Helper()
	m := &Message{Type: FrameSend, Payload: make([]byte, 16<<10)}
	for i := 0; i < 8192; i++ { // 128 MiB: far beyond any socket buffer
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		err := a.ep.Send(ctx, "r@127.0.0.1", m)
		cancel()
		if err != nil {
			return err
		}
	}
	t.Fatal("the queue never filled")
	return nil
}

func TestQueueFullBlocksThenFails(t *testing.T) {
	cfg := testConfig("a@127.0.0.1")
	cfg.MaxQueueBytes = 64 << 10
	cfg.HeartbeatTimeout = time.Minute // the peer is silent: keep the heartbeat out of it
	a, r := stalledPeer(t, cfg)
	err := fillUntil(t, a, 50*time.Millisecond)
	mustIs(t, err, ErrQueueFull, context.DeadlineExceeded)
	if len(a.ep.Peers()) != 1 {
		t.Fatal("a full queue closed the connection")
	}
	_ = r.nc.Close()
}

// TestDisconnectFailsBlockedSend: a Send waiting for room on a connection
// that Disconnect closes fails with ErrNoConnection; it does not dial again
// (a later Send does). The node layer disconnects a peer that Serf declared
// failed: a paused or cut-off peer would hold a new dial until it timed
// out. Here the peer's address leads to a listener that never answers, as
// a paused node's would.
func TestDisconnectFailsBlockedSend(t *testing.T) {
	cfg := testConfig("a@127.0.0.1")
	cfg.MaxQueueBytes = 64 << 10
	cfg.HeartbeatTimeout, cfg.WriteTimeout = time.Minute, time.Minute // only Disconnect closes it
	a, r := stalledPeer(t, cfg)
	defer r.nc.Close()
	mute, err := net.Listen("tcp", "127.0.0.1:0") // the kernel accepts; nobody answers
	if err != nil {
		t.Fatal(err)
	}
	defer mute.Close()
	a.ep.SetAddr("r@127.0.0.1", mute.Addr().String())
	done := make(chan error, 1)
	go func() {
		m := &Message{Type: FrameSend, Payload: make([]byte, 16<<10)}
		for {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			err := a.ep.Send(ctx, "r@127.0.0.1", m)
			cancel()
			if err != nil {
				done <- err
				return
			}
		}
	}()
	waitFor(t, 5*time.Second, "a Send waiting for room", func() bool {
		a.ep.mu.Lock()
		pe := a.ep.peers["r@127.0.0.1"]
		a.ep.mu.Unlock()
		if pe == nil || pe.conn == nil {
			return false
		}
		pe.conn.wmu.Lock()
		defer pe.conn.wmu.Unlock()
		return pe.conn.space != nil
	})
	if err := a.ep.Disconnect("r@127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, ErrNoConnection) || !errors.Is(err, errConnGone) {
			t.Fatalf("the blocked Send: %v, want ErrNoConnection for the connection Disconnect closed (no new dial)", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the blocked Send did not return after Disconnect")
	}
}

func TestWriteTimeoutClosesStalledPeer(t *testing.T) {
	cfg := testConfig("a@127.0.0.1")
	cfg.MaxQueueBytes = 64 << 10
	cfg.WriteTimeout = 200 * time.Millisecond
	cfg.HeartbeatTimeout = time.Minute
	a, _ := stalledPeer(t, cfg)
	err := fillUntil(t, a, time.Minute) // blocks until the write timeout frees it
	mustIs(t, err, ErrNoConnection)
	waitFor(t, 5*time.Second, "PeerDown", func() bool { return a.rec.count("down", "") == 1 })
	down := a.rec.lastDown("r@127.0.0.1")
	mustIs(t, down, ErrConnClosed)
	if !strings.Contains(down.Error(), "write stalled") {
		t.Errorf("reason %q does not name the stalled write", down)
	}
}

// TestHandshakeTimeoutAndPendingCap: silent connections are closed after
// the handshake timeout, at most MaxPendingHandshakes wait at once, and a
// legitimate peer gets through afterwards.
func TestHandshakeTimeoutAndPendingCap(t *testing.T) {
	cfg := testConfig("a@127.0.0.1")
	cfg.HandshakeTimeout, cfg.MaxPendingHandshakes = 300*time.Millisecond, 2
	a := startNode(t, cfg)
	var silent []net.Conn
	for i := 0; i < 2; i++ {
		c, err := net.Dial("tcp", a.ep.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		silent = append(silent, c)
	}
	waitFor(t, 5*time.Second, "two pending handshakes", func() bool { return a.ep.Stats().PendingInbound == 2 })
	extra, err := net.Dial("tcp", a.ep.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	_ = extra.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := extra.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("connection over the cap: read %v, want EOF", err)
	}
	for _, c := range silent {
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err != io.EOF {
			t.Fatalf("silent connection: read %v, want EOF after the handshake timeout", err)
		}
	}
	if _, err := dialRaw(t, a.ep.Addr(), a.ep.Name(), rawOpts{name: "r@127.0.0.1"}); err != nil {
		t.Fatalf("legitimate peer after the flood: %v", err)
	}
}
