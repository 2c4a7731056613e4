package transport

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/placerhq/placer/internal/poll"
)

func TestRoundTripEveryTypeOverTCP(t *testing.T) {
	a, b := startPair(t, nil)
	ctx := ctxT(t)
	var want []*Message
	for ft := FrameSend; ft <= FrameSpawnReply; ft++ {
		m := fullMessage(ft)
		m.From, m.To = pid(a.ep.Name(), uint64(ft)), pid(b.ep.Name(), 1)
		want = append(want, m)
		if err := a.ep.Send(ctx, b.ep.Name(), m); err != nil {
			t.Fatalf("Send %v: %v", ft, err)
		}
	}
	waitFor(t, 5*time.Second, "every frame type", func() bool { return b.rec.count("msg", "") == len(want) })
	if got := b.rec.messages(); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
}

func TestConnectPeersAndPeerInfo(t *testing.T) {
	a, b := startPair(t, func(c *Config) { c.Creation = 77 })
	if err := a.ep.Connect(ctxT(t), b.ep.Name()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "PeerUp on both sides", func() bool {
		return a.rec.count("up", "") == 1 && b.rec.count("up", "") == 1
	})
	info, _ := b.rec.lastUp(a.ep.Name())
	if info.Creation != 77 || info.Version != 1 || info.Hidden || info.Addr == "" {
		t.Errorf("B sees A as %+v", info)
	}
	if p := a.ep.Peers(); len(p) != 1 || p[0].Name != b.ep.Name() || p[0].Addr != b.ep.Addr() {
		t.Errorf("A's peers %+v, want B at %s", p, b.ep.Addr())
	}
	// Connect again is a no-op.
	if err := a.ep.Connect(ctxT(t), b.ep.Name()); err != nil || a.rec.count("up", "") != 1 {
		t.Fatalf("second Connect: %v, %d PeerUps", err, a.rec.count("up", ""))
	}
}

func TestHiddenFlag(t *testing.T) {
	ca, cb := testConfig("cli@127.0.0.1"), testConfig("b@127.0.0.1")
	ca.Hidden, ca.ListenAddr = true, "" // a dial-only hidden CLI node
	a, b := startNode(t, ca), startNode(t, cb)
	if a.ep.Addr() != "" {
		t.Fatalf("dial-only endpoint has address %q", a.ep.Addr())
	}
	a.ep.SetAddr(b.ep.Name(), b.ep.Addr())
	if err := a.ep.Send(ctxT(t), b.ep.Name(), &Message{Type: FrameRegSend, ToName: "x"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "PeerUp at B", func() bool { return b.rec.count("up", "") == 1 })
	if info, _ := b.rec.lastUp(a.ep.Name()); !info.Hidden {
		t.Errorf("B sees the CLI node as visible: %+v", info)
	}
	waitFor(t, 5*time.Second, "PeerUp at A", func() bool { return a.rec.count("up", "") == 1 })
	if info, _ := a.rec.lastUp(b.ep.Name()); info.Hidden {
		t.Errorf("A sees B as hidden: %+v", info)
	}
}

func TestDisconnectAndReconnect(t *testing.T) {
	a, b := startPair(t, nil)
	ctx := ctxT(t)
	if err := a.ep.Connect(ctx, b.ep.Name()); err != nil {
		t.Fatal(err)
	}
	// Connect returns once A registered the connection, before its reader
	// delivered PeerUp; B's PeerUp comes with A's last handshake message.
	// A disconnect before either would leave that side with no PeerUp and
	// so no PeerDown (documented: the connection never existed for it).
	waitFor(t, 5*time.Second, "PeerUp on both sides", func() bool {
		return a.rec.count("up", "") == 1 && b.rec.count("up", "") == 1
	})
	if err := a.ep.Disconnect(b.ep.Name()); err != nil {
		t.Fatal(err)
	}
	poll.CheckFor(t, 5*time.Second, poll.Cond(func() bool {
		return a.rec.count("down", "") == 1 && b.rec.count("down", "") == 1
	}, func() string {
		return fmt.Sprintf("PeerDown on both sides: A had %d up %d down, B %d up %d down",
			a.rec.count("up", ""), a.rec.count("down", ""), b.rec.count("up", ""), b.rec.count("down", ""))
	}))
	mustIs(t, a.rec.lastDown(b.ep.Name()), ErrConnClosed)
	mustIs(t, b.rec.lastDown(a.ep.Name()), ErrConnClosed)
	if len(a.ep.Peers()) != 0 {
		t.Errorf("peers after Disconnect: %+v", a.ep.Peers())
	}
	// The next Send connects again.
	if err := a.ep.Send(ctx, b.ep.Name(), seqMsg(PID{}, pid(b.ep.Name(), 1), 0)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "second PeerUp and the message", func() bool {
		return b.rec.count("up", "") == 2 && b.rec.count("msg", "") == 1
	})
	if err := a.ep.Disconnect("nobody@nowhere"); err != nil {
		t.Errorf("Disconnect of an unknown node: %v", err)
	}
}

func TestCloseDeliversShutdown(t *testing.T) {
	a, b := startPair(t, nil)
	ctx := ctxT(t)
	if err := a.ep.Connect(ctx, b.ep.Name()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "PeerUp at A", func() bool { return a.rec.count("up", "") == 1 })
	if err := a.ep.Close(); err != nil {
		t.Fatal(err)
	}
	mustIs(t, a.rec.lastDown(b.ep.Name()), ErrShutdown) // delivered before Close returned
	waitFor(t, 5*time.Second, "PeerDown at B", func() bool { return b.rec.count("down", "") == 1 })
	mustIs(t, b.rec.lastDown(a.ep.Name()), ErrConnClosed)
	mustIs(t, a.ep.Send(ctx, b.ep.Name(), &Message{Type: FrameSend}), ErrShutdown)
	mustIs(t, a.ep.Connect(ctx, b.ep.Name()), ErrShutdown)
	if err := a.ep.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestSendErrors(t *testing.T) {
	lookups := 0
	cfg := testConfig("a@127.0.0.1")
	cfg.Resolve = func(node string) (string, error) {
		lookups++
		if node == "dns@fails" {
			return "", errors.New("no such host")
		}
		return "", nil
	}
	a := startNode(t, cfg)
	ctx := ctxT(t)
	m := &Message{Type: FrameSend}
	mustIs(t, a.ep.Send(ctx, "x@nowhere", m), ErrNoConnection, ErrUnknownNode)
	mustIs(t, a.ep.Send(ctx, "dns@fails", m), ErrNoConnection, ErrUnknownNode)
	mustIs(t, a.ep.Send(ctx, "not-a-name", m), ErrNoConnection, ErrBadName)
	mustIs(t, a.ep.Send(ctx, a.ep.Name(), m), ErrNoConnection)
	if lookups != 2 {
		t.Errorf("Resolve called %d times, want 2", lookups)
	}
	a.ep.SetAddr("dead@127.0.0.1", "127.0.0.1:1") // nothing listens on port 1
	mustIs(t, a.ep.Send(ctx, "dead@127.0.0.1", m), ErrNoConnection)
}

func TestResolveFallback(t *testing.T) {
	_, b := startPair(t, nil)
	cfg := testConfig("c@127.0.0.1")
	cfg.Resolve = func(node string) (string, error) {
		if node == b.ep.Name() {
			return b.ep.Addr(), nil
		}
		return "", nil
	}
	c := startNode(t, cfg)
	if err := c.ep.Connect(ctxT(t), b.ep.Name()); err != nil {
		t.Fatalf("Connect through Resolve: %v", err)
	}
}

func TestFrameTooLargeForPeer(t *testing.T) {
	a, b := startPair(t, func(c *Config) { c.MaxFrameSize = 64 << 10 })
	ctx := ctxT(t)
	from, to := pid(a.ep.Name(), 1), pid(b.ep.Name(), 1)
	err := a.ep.Send(ctx, b.ep.Name(), &Message{Type: FrameSend, From: from, To: to, Payload: make([]byte, 100<<10)})
	mustIs(t, err, ErrFrameTooLarge)
	// The connection survives and a frame just under the limit (sent in
	// fragments, being over FragmentSize) arrives intact.
	payload := make([]byte, 60<<10)
	_, _ = rand.Read(payload)
	if err := a.ep.Send(ctx, b.ep.Name(), &Message{Type: FrameSend, From: from, To: to, Payload: payload}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the 60 KiB message", func() bool { return b.rec.count("msg", "") == 1 })
	if got := b.rec.messages()[0].Payload; !bytes.Equal(got, payload) {
		t.Fatal("payload corrupted")
	}
	if n := b.rec.count("down", ""); n != 0 {
		t.Fatalf("%d PeerDowns", n)
	}
}

// TestOrderingPerSender streams large and small messages from several
// senders concurrently: each sender's messages arrive intact and in order.
func TestOrderingPerSender(t *testing.T) {
	a, b := startPair(t, func(c *Config) { c.BulkWindow = 16 << 10; c.FragmentSize = 4 << 10 })
	ctx := ctxT(t)
	const senders, perSender = 4, 60
	errs := make(chan error, senders)
	for s := 1; s <= senders; s++ {
		go func() {
			from := pid(a.ep.Name(), uint64(s))
			for i := 0; i < perSender; i++ {
				size := 10
				if (i+s)%5 == 0 {
					size = 50000 + i // bulk lane, fragmented
				}
				p := bytes.Repeat([]byte{byte(i)}, size)
				copy(p, strconv.Itoa(i)+":")
				if err := a.ep.Send(ctx, b.ep.Name(), &Message{Type: FrameSend, From: from, Ref: uint64(i), Payload: p}); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for s := 0; s < senders; s++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 10*time.Second, "every message", func() bool { return b.rec.count("msg", "") == senders*perSender })
	next := map[uint64]uint64{}
	for _, m := range b.rec.messages() {
		if m.Ref != next[m.From.ID] {
			t.Fatalf("sender %d: got message %d, want %d", m.From.ID, m.Ref, next[m.From.ID])
		}
		if !bytes.HasPrefix(m.Payload, []byte(strconv.Itoa(int(m.Ref))+":")) || m.Payload[len(m.Payload)-1] != byte(m.Ref) {
			t.Fatalf("sender %d message %d: payload corrupted", m.From.ID, m.Ref)
		}
		next[m.From.ID]++
	}
}

// TestSmallOvertakesBulk: a small frame from another sender is delivered
// long before a queued bulk transfer completes.
func TestSmallOvertakesBulk(t *testing.T) {
	a, b := startPair(t, func(c *Config) {
		c.BulkWindow, c.FragmentSize, c.MaxQueueBytes = 8<<10, 4<<10, 32<<20
	})
	ctx := ctxT(t)
	if err := a.ep.Connect(ctx, b.ep.Name()); err != nil {
		t.Fatal(err)
	}
	bulk := pid(a.ep.Name(), 1)
	const n = 16
	for i := 0; i < n; i++ {
		if err := a.ep.Send(ctx, b.ep.Name(), &Message{Type: FrameSend, From: bulk, Ref: uint64(i), Payload: make([]byte, 1<<20-100)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.ep.Send(ctx, b.ep.Name(), &Message{Type: FrameCall, From: pid(a.ep.Name(), 2), Ref: 999}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "every message", func() bool { return b.rec.count("msg", "") == n+1 })
	for i, m := range b.rec.messages() {
		if m.Ref == 999 {
			if i == n {
				t.Fatalf("the small call arrived after all %d bulk messages", n)
			}
			return
		}
	}
}

// TestLaneChoice checks, without a network, which lane each frame takes.
func TestLaneChoice(t *testing.T) {
	e := newEndpoint(testConfig("a@h"), newRecorder())
	defer e.cancel()
	client, server := net.Pipe()
	defer client.Close()
	defer server.Close()
	c, _ := e.newConn(client, false, "")
	c.inl = nil
	c.setPeer(hsPeer{name: "b@h", maxFrame: 1 << 20, window: 1 << 20, version: 1})
	p, q := pid("a@h", 1), pid("a@h", 2)
	ctx := context.Background()
	send := func(from PID, size int) {
		if err := c.send(ctx, &Message{Type: FrameSend, From: from, Payload: make([]byte, size)}); err != nil {
			t.Fatal(err)
		}
	}
	send(p, 100<<10) // bulk
	send(q, 10)      // another sender: priority lane
	send(p, 10)      // same sender: behind its bulk frame
	if len(c.bulk) != 2 || c.bulk[0].whole || !c.bulk[1].whole || c.bulk[1].from != p {
		t.Fatalf("bulk lane %+v", c.bulk)
	}
	if len(c.prio) != 1 || len(c.prio[0]) != headerSize+1+pidFixedSize+10 {
		t.Fatalf("priority lane %d chunks", len(c.prio))
	}
	if want := 2*(headerSize+1+pidFixedSize+10) + headerSize + 1 + pidFixedSize + 100<<10; c.queued != want {
		t.Fatalf("queued %d, want %d", c.queued, want)
	}
}

func TestWrongCookieRejectedAndLogged(t *testing.T) {
	logs := &syncBuffer{}
	cb := testConfig("b@127.0.0.1")
	cb.Logger = zerolog.New(logs)
	b := startNode(t, cb)
	ca := testConfig("a@127.0.0.1")
	ca.Cookie = []byte("a completely different secret!!")
	a := startNode(t, ca)
	a.ep.SetAddr(b.ep.Name(), b.ep.Addr())
	err := a.ep.Connect(ctxT(t), b.ep.Name())
	mustIs(t, err, ErrNoConnection, ErrAuth)
	waitFor(t, 5*time.Second, "B's rejection log", func() bool { return strings.Contains(logs.String(), "authentication failed") })
	out := logs.String()
	if !strings.Contains(out, `"addr":"127.0.0.1:`) || !strings.Contains(out, "a@127.0.0.1") {
		t.Errorf("rejection log lacks the peer address or name: %s", out)
	}
	for _, secret := range [][]byte{testCookie, ca.Cookie} {
		if strings.Contains(out, string(secret)) {
			t.Fatal("a cookie appears in the log")
		}
	}
	// No state changed at B.
	b.ep.mu.Lock()
	entries := len(b.ep.peers)
	b.ep.mu.Unlock()
	if entries != 0 || len(b.ep.Peers()) != 0 || b.rec.count("up", "") != 0 {
		t.Fatalf("B changed state: %d registry entries, peers %+v", entries, b.ep.Peers())
	}
}

func TestCookieFor(t *testing.T) {
	special := []byte("the secret shared by a and b only")
	ca, cb, cc := testConfig("a@127.0.0.1"), testConfig("b@127.0.0.1"), testConfig("c@127.0.0.1")
	ca.CookieFor = func(p string) []byte {
		if p == "b@127.0.0.1" {
			return special
		}
		return nil
	}
	cb.CookieFor = func(p string) []byte {
		if p == "a@127.0.0.1" {
			return special
		}
		return nil
	}
	a, b, c := startNode(t, ca), startNode(t, cb), startNode(t, cc)
	a.ep.SetAddr(b.ep.Name(), b.ep.Addr())
	c.ep.SetAddr(b.ep.Name(), b.ep.Addr())
	if err := a.ep.Connect(ctxT(t), b.ep.Name()); err != nil {
		t.Fatalf("a→b with the per-peer cookie: %v", err)
	}
	if err := c.ep.Connect(ctxT(t), b.ep.Name()); err != nil {
		t.Fatalf("c→b with the default cookie: %v", err)
	}
	cc2 := testConfig("a2@127.0.0.1")
	cc2.Name = "a@127.0.0.1" // a's name but the default cookie: b expects the special one
	d := startNode(t, cc2)
	d.ep.SetAddr(b.ep.Name(), b.ep.Addr())
	mustIs(t, d.ep.Connect(ctxT(t), b.ep.Name()), ErrAuth)
}

func TestPortRange(t *testing.T) {
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	port := held.Addr().(*net.TCPAddr).Port
	if port+8 > 65535 {
		t.Skip("no room above the held port")
	}
	cfg := testConfig("a@127.0.0.1")
	cfg.PortMin, cfg.PortMax = port, port+8
	a := startNode(t, cfg)
	_, ps, _ := net.SplitHostPort(a.ep.Addr())
	got, _ := strconv.Atoi(ps)
	if got <= port || got > port+8 {
		t.Fatalf("listening on %d, want a port in (%d, %d]", got, port, port+8)
	}
	cfg.PortMax = port // only the held port
	if _, err := Listen(cfg, newRecorder()); err == nil || !strings.Contains(err.Error(), "no port") {
		t.Fatalf("Listen on a busy range: %v", err)
	}
}

func TestConfigValidation(t *testing.T) {
	mods := map[string]func(*Config){
		"no name":          func(c *Config) { c.Name = "" },
		"bad name":         func(c *Config) { c.Name = "nohost" },
		"no cookie":        func(c *Config) { c.Cookie = nil },
		"ports sans addr":  func(c *Config) { c.ListenAddr, c.PortMin = "", 5000 },
		"ports reversed":   func(c *Config) { c.PortMin, c.PortMax = 5000, 4000 },
		"tiny frames":      func(c *Config) { c.MaxFrameSize = 100 },
		"fragment > frame": func(c *Config) { c.FragmentSize = 2 << 20 },
		"tiny window":      func(c *Config) { c.BulkWindow = 100 },
		"tiny queue":       func(c *Config) { c.MaxQueueBytes = 1000 },
		"no handshakes":    func(c *Config) { c.MaxPendingHandshakes = -1 },
		"no per-host":      func(c *Config) { c.MaxPendingPerHost = -1 },
		"negative hello":   func(c *Config) { c.HelloTimeout = -time.Second },
		"negative timeout": func(c *Config) { c.HandshakeTimeout = -time.Second },
		"tight heartbeat":  func(c *Config) { c.HeartbeatTimeout = c.HeartbeatInterval },
	}
	for name, mod := range mods {
		cfg := testConfig("a@127.0.0.1")
		mod(&cfg)
		ep, err := Listen(cfg, newRecorder())
		if err == nil {
			_ = ep.Close()
			t.Errorf("%s: Listen accepted the config", name)
		} else if !errors.Is(err, ErrBadConfig) {
			t.Errorf("%s: %v does not wrap ErrBadConfig", name, err)
		}
	}
	if _, err := Listen(testConfig("a@127.0.0.1"), nil); !errors.Is(err, ErrBadConfig) {
		t.Errorf("Listen with a nil Handler: %v, want ErrBadConfig", err)
	}
}

// TestZeroConfigMeansDefaults: every zero tunable becomes DefaultConfig's
// value, and the defaults that follow other fields follow them.
func TestZeroConfigMeansDefaults(t *testing.T) {
	zero := Config{Name: "a@127.0.0.1", Cookie: testCookie}
	zero.fillDefaults()
	want := DefaultConfig()
	want.Name, want.Cookie, want.Logger = zero.Name, zero.Cookie, zero.Logger
	if !reflect.DeepEqual(zero, want) {
		t.Fatalf("zero config filled as\n%+v\nwant\n%+v", zero, want)
	}
	if err := zero.validate(); err != nil {
		t.Fatalf("the filled zero config is invalid: %v", err)
	}
	small := Config{Name: "a@127.0.0.1", Cookie: testCookie, MaxFrameSize: 4 << 10, HeartbeatInterval: 2 * time.Second}
	small.fillDefaults()
	if small.FragmentSize != 4<<10 || small.HeartbeatTimeout != 8*time.Second {
		t.Fatalf("FragmentSize %d, HeartbeatTimeout %v: want MaxFrameSize and 4 × HeartbeatInterval", small.FragmentSize, small.HeartbeatTimeout)
	}
	if err := small.validate(); err != nil {
		t.Fatalf("zero fields beside set ones: %v", err)
	}
}

func TestConfigIsCopied(t *testing.T) {
	cfg := testConfig("a@127.0.0.1")
	cookie := []byte(string(testCookie))
	cfg.Cookie = cookie
	a := startNode(t, cfg)
	cookie[0] ^= 0xFF // the caller scribbles on its slice
	b := startNode(t, testConfig("b@127.0.0.1"))
	a.ep.SetAddr(b.ep.Name(), b.ep.Addr())
	if err := a.ep.Connect(ctxT(t), b.ep.Name()); err != nil {
		t.Fatalf("the endpoint did not copy the cookie: %v", err)
	}
}

func TestManyPeers(t *testing.T) {
	hub := startNode(t, testConfig("hub@127.0.0.1"))
	const n = 6
	for i := 0; i < n; i++ {
		x := startNode(t, testConfig(fmt.Sprintf("n%d@127.0.0.1", i)))
		x.ep.SetAddr(hub.ep.Name(), hub.ep.Addr())
		if err := x.ep.Send(ctxT(t), hub.ep.Name(), &Message{Type: FrameSend, From: pid(x.ep.Name(), 1)}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 5*time.Second, "all peers", func() bool { return len(hub.ep.Peers()) == n && hub.rec.count("msg", "") == n })
}

// TestBulkWindowRespected checks, without a network, that the writer takes
// fragments only within the peer's window and resumes on BulkAck.
func TestBulkWindowRespected(t *testing.T) {
	e := newEndpoint(testConfig("a@h"), newRecorder())
	defer e.cancel()
	client, server := net.Pipe()
	defer client.Close()
	defer server.Close()
	c, _ := e.newConn(client, false, "")
	c.setPeer(hsPeer{name: "b@h", maxFrame: 1 << 20, window: 16 << 10, version: 1})
	if c.chunk != 8<<10 {
		t.Fatalf("fragment data size %d, want half the 16 KiB window", c.chunk)
	}
	if err := c.send(context.Background(), &Message{Type: FrameSend, Payload: make([]byte, 100<<10)}); err != nil {
		t.Fatal(err)
	}
	taken := func() int {
		c.wmu.Lock()
		defer c.wmu.Unlock()
		n := 0
		for c.hasWorkLocked() {
			c.takeLocked()
			for _, b := range c.w.bufs {
				if len(b) > c.chunk {
					t.Fatalf("a write carries %d bytes of fragment data, more than %d", len(b), c.chunk)
				}
				n += len(b)
			}
		}
		return n
	}
	if n := taken(); n == 0 || c.inflight != 16<<10 {
		t.Fatalf("first round: %d bytes taken, %d in flight; want exactly the 16 KiB window in flight", n, c.inflight)
	}
	// With the window full, priority traffic still flows, without fragments.
	small := &Message{Type: FrameSend, From: pid("a@h", 2), Payload: []byte("hi")}
	if err := c.send(context.Background(), small); err != nil {
		t.Fatal(err)
	}
	if n, want := taken(), headerSize+1+pidFixedSize+2; n != want {
		t.Fatalf("took %d bytes with the window full, want only the %d-byte small frame", n, want)
	}
	if err := c.bulkCredit(4 << 10); err != nil { // 12 KiB in flight: no room for an 8 KiB fragment
		t.Fatal(err)
	}
	if n := taken(); n != 0 {
		t.Fatalf("after a 4 KiB ack: %d bytes taken, want none", n)
	}
	if err := c.bulkCredit(4 << 10); err != nil {
		t.Fatal(err)
	}
	if n := taken(); n == 0 || c.inflight != 16<<10 {
		t.Fatalf("after 8 KiB of acks: %d bytes taken, %d in flight", n, c.inflight)
	}
	mustIs(t, c.bulkCredit(1<<20), ErrProtocol)
}

// TestInlineWritePartial: when the socket takes only part of an inline
// write, the rest is queued for the writer ahead of everything else, and
// the bytes on the wire are exactly the frame.
func TestInlineWritePartial(t *testing.T) {
	cfg := testConfig("a@h")
	cfg.FragmentSize = 1 << 20 // a 600 KiB frame still counts as small: eligible for inline
	e := newEndpoint(cfg, newRecorder())
	defer e.cancel()
	client, server := tcpPair(t)
	_ = client.(*net.TCPConn).SetWriteBuffer(4096)
	_ = server.(*net.TCPConn).SetReadBuffer(4096)
	c, _ := e.newConn(client, false, "")
	if c.inl == nil {
		t.Skip("no inline writes on this platform")
	}
	c.setPeer(hsPeer{name: "b@h", maxFrame: 1 << 20, window: 1 << 20, version: 1})
	c.writerIdle = true // as if the writer goroutine were waiting
	m := &Message{Type: FrameSend, Payload: bytes.Repeat([]byte("0123456789abcdef"), 600<<10/16)}
	if err := c.send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	c.wmu.Lock()
	rest := append([]byte(nil), c.ctrl...)
	c.wmu.Unlock()
	if len(rest) == 0 {
		t.Fatal("the socket took 600 KiB at once; the partial path was not exercised")
	}
	want := encodeFrame(t, &encA, m) // encA encodes as a@h for b@h, like c
	got := make([]byte, len(want)-len(rest))
	if _, err := io.ReadFull(server, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(append(got, rest...), want) {
		t.Fatal("inline prefix plus queued rest is not the frame")
	}
	select {
	case <-c.wake:
	default:
		t.Fatal("the writer was not woken for the rest")
	}
}

// TestCloseDeliversWhatWasSent: frames queued when Close begins reach a
// peer that keeps reading, all of them and in order: Close hands the queue
// to the socket and half-closes behind it before it closes (it used to drop
// the queue). B stops reading until A's queue holds more than the socket
// buffers take, then A closes and B resumes.
func TestCloseDeliversWhatWasSent(t *testing.T) {
	a, b := startPair(t, func(c *Config) { c.MaxQueueBytes, c.CloseTimeout = 64<<20, 20*time.Second })
	ctx := ctxT(t)
	from, to := pid(a.ep.Name(), 1), pid(b.ep.Name(), 1)
	const n = 1500 // 24 MiB: more than loopback's socket buffers hold
	payload := make([]byte, 16<<10)
	b.rec.blockMu.Lock()
	unblock := sync.OnceFunc(b.rec.blockMu.Unlock)
	defer unblock()
	for i := range n {
		m := seqMsg(from, to, i)
		m.Payload = append(m.Payload, payload...)
		if err := a.ep.Send(ctx, b.ep.Name(), m); err != nil {
			t.Fatal(err)
		}
	}
	if q := queuedTo(a.ep, b.ep.Name()); q == 0 {
		t.Skip("the socket buffers took everything: nothing left to flush") // never seen on loopback
	}
	closed := make(chan error, 1)
	go func() { closed <- a.ep.Close() }()
	unblock()
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "PeerDown at B", func() bool { return b.rec.count("down", "") == 1 })
	msgs := b.rec.messages()
	if len(msgs) != n {
		t.Fatalf("B received %d of the %d frames sent before Close", len(msgs), n)
	}
	for i, m := range msgs {
		if want := fmt.Sprintf("m%06d", i); string(m.Payload[:len(want)]) != want {
			t.Fatalf("frame %d is %q", i, m.Payload[:len(want)])
		}
	}
	mustIs(t, a.rec.lastDown(b.ep.Name()), ErrShutdown)
}

// queuedTo is how many encoded bytes e's connection to peer has queued.
func queuedTo(e *Endpoint, peer string) int {
	e.mu.Lock()
	pe := e.peers[peer]
	e.mu.Unlock()
	if pe == nil || pe.conn == nil {
		return 0
	}
	c := pe.conn
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.queued + len(c.ctrl)
}
