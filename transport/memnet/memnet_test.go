package memnet

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/placerhq/placer/internal/poll"
	"github.com/placerhq/placer/transport"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// recorder is a Handler that records what it is given and checks that
// callbacks for one peer never overlap.
type recorder struct {
	mu     sync.Mutex
	events []string
	msgs   []*transport.Message
	downs  map[string]error
	busy   map[string]*atomic.Int32
	block  chan struct{} // if non-nil, HandleMessage waits for it to close
	overlp atomic.Bool
}

func newRecorder() *recorder {
	return &recorder{downs: map[string]error{}, busy: map[string]*atomic.Int32{}}
}

func (r *recorder) enter(peer string) func() {
	r.mu.Lock()
	b := r.busy[peer]
	if b == nil {
		b = new(atomic.Int32)
		r.busy[peer] = b
	}
	r.mu.Unlock()
	if b.Add(1) != 1 {
		r.overlp.Store(true)
	}
	return func() { b.Add(-1) }
}

func (r *recorder) HandleMessage(peer string, m *transport.Message) {
	defer r.enter(peer)()
	if r.block != nil {
		<-r.block
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, "msg:"+peer+":"+string(m.Payload))
	r.msgs = append(r.msgs, m)
}

func (r *recorder) PeerUp(p transport.PeerInfo) {
	defer r.enter(p.Name)()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, "up:"+p.Name)
}

func (r *recorder) PeerDown(p transport.PeerInfo, reason error) {
	defer r.enter(p.Name)()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, "down:"+p.Name)
	r.downs[p.Name] = reason
}

func (r *recorder) snapshot() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.events...)
}

func (r *recorder) count(prefix string) int {
	n := 0
	for _, e := range r.snapshot() {
		if strings.HasPrefix(e, prefix) {
			n++
		}
	}
	return n
}

func (r *recorder) down(peer string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.downs[peer]
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	poll.CheckFor(t, timeout, poll.Cond(cond, func() string { return "waiting for " + what }))
}

type testNode struct {
	ep  *Endpoint
	rec *recorder
}

func listen(t *testing.T, n *Network, name string, mod func(*EndpointConfig)) testNode {
	t.Helper()
	cfg := DefaultEndpointConfig()
	cfg.Name, cfg.Cookie, cfg.Creation = name, []byte("secret-cookie"), 7
	if mod != nil {
		mod(&cfg)
	}
	rec := newRecorder()
	ep, err := n.Listen(cfg, rec)
	if err != nil {
		t.Fatalf("listen %s: %v", name, err)
	}
	t.Cleanup(func() { _ = ep.Close() })
	return testNode{ep, rec}
}

func send(t *testing.T, from testNode, to, payload string) {
	t.Helper()
	m := &transport.Message{Type: transport.FrameSend, Payload: []byte(payload)}
	if err := from.ep.Send(context.Background(), to, m); err != nil {
		t.Fatalf("send %s -> %s: %v", from.ep.Name(), to, err)
	}
}

func TestSendOrderAndPeerInfo(t *testing.T) {
	n := New(DefaultConfig())
	a := listen(t, n, "a@mem", nil)
	b := listen(t, n, "b@mem", func(c *EndpointConfig) { c.Hidden, c.Creation = true, 42 })
	const count = 500
	for i := range count {
		send(t, a, "b@mem", fmt.Sprint(i))
	}
	waitFor(t, 5*time.Second, "all frames", func() bool { return b.rec.count("msg:") == count })
	ev := b.rec.snapshot()
	if ev[0] != "up:a@mem" {
		t.Fatalf("first event %q, want PeerUp", ev[0])
	}
	for i := range count {
		if want := fmt.Sprintf("msg:a@mem:%d", i); ev[i+1] != want {
			t.Fatalf("event %d = %q, want %q", i+1, ev[i+1], want)
		}
	}
	peers := a.ep.Peers()
	if len(peers) != 1 || peers[0].Name != "b@mem" || !peers[0].Hidden || peers[0].Creation != 42 {
		t.Fatalf("a's peers = %+v", peers)
	}
	if p := b.ep.Peers(); len(p) != 1 || p[0].Hidden || p[0].Creation != 7 {
		t.Fatalf("b's peers = %+v", p)
	}
}

func TestSenderMayReuseMessage(t *testing.T) {
	n := New(DefaultConfig())
	a := listen(t, n, "a@mem", nil)
	b := listen(t, n, "b@mem", nil)
	m := &transport.Message{Type: transport.FrameSend, Payload: []byte("one")}
	if err := a.ep.Send(context.Background(), "b@mem", m); err != nil {
		t.Fatal(err)
	}
	copy(m.Payload, "two")
	waitFor(t, 5*time.Second, "frame", func() bool { return b.rec.count("msg:") == 1 })
	if got := b.rec.snapshot()[1]; got != "msg:a@mem:one" {
		t.Fatalf("got %q: the network kept the sender's buffer", got)
	}
}

func TestWrongCookieRefused(t *testing.T) {
	n := New(DefaultConfig())
	a := listen(t, n, "a@mem", nil)
	b := listen(t, n, "b@mem", func(c *EndpointConfig) { c.Cookie = []byte("other") })
	err := a.ep.Connect(context.Background(), "b@mem")
	if !errors.Is(err, transport.ErrNoConnection) || !errors.Is(err, transport.ErrAuth) {
		t.Fatalf("connect with wrong cookie: %v", err)
	}
	if len(a.ep.Peers())+len(b.ep.Peers()) != 0 || len(a.rec.snapshot())+len(b.rec.snapshot()) != 0 {
		t.Fatal("a refused handshake changed state")
	}
}

func TestCookieForOverride(t *testing.T) {
	n := New(DefaultConfig())
	shared := []byte("pair-cookie")
	a := listen(t, n, "a@mem", func(c *EndpointConfig) {
		c.CookieFor = func(p string) []byte {
			if p == "b@mem" {
				return shared
			}
			return nil
		}
	})
	listen(t, n, "b@mem", func(c *EndpointConfig) { c.Cookie = shared })
	listen(t, n, "c@mem", nil)
	if err := a.ep.Connect(context.Background(), "b@mem"); err != nil {
		t.Fatalf("override cookie: %v", err)
	}
	if err := a.ep.Connect(context.Background(), "c@mem"); err != nil {
		t.Fatalf("default cookie for others: %v", err)
	}
}

func TestCutAndRestore(t *testing.T) {
	n := New(DefaultConfig())
	a := listen(t, n, "a@mem", nil)
	b := listen(t, n, "b@mem", nil)
	send(t, a, "b@mem", "x")
	waitFor(t, 5*time.Second, "up", func() bool { return a.rec.count("up:") == 1 && b.rec.count("msg:") == 1 })
	n.Cut("a@mem", "b@mem")
	waitFor(t, 5*time.Second, "down on both sides", func() bool {
		return a.rec.count("down:") == 1 && b.rec.count("down:") == 1
	})
	for _, r := range []*recorder{a.rec, b.rec} {
		peer := "b@mem"
		if r == b.rec {
			peer = "a@mem"
		}
		if err := r.down(peer); !errors.Is(err, transport.ErrHeartbeatTimeout) {
			t.Fatalf("down reason %v", err)
		}
	}
	m := &transport.Message{Type: transport.FrameSend}
	if err := b.ep.Send(context.Background(), "a@mem", m); !errors.Is(err, transport.ErrNoConnection) {
		t.Fatalf("send over cut link: %v", err)
	}
	if !n.IsCut("b@mem", "a@mem") {
		t.Fatal("IsCut false")
	}
	n.Restore("a@mem", "b@mem")
	send(t, b, "a@mem", "back")
	waitFor(t, 5*time.Second, "reconnect", func() bool { return a.rec.count("msg:b@mem:back") == 1 })
	if a.rec.overlp.Load() || b.rec.overlp.Load() {
		t.Fatal("callbacks for one peer overlapped")
	}
}

func TestPartitionHeal(t *testing.T) {
	n := New(DefaultConfig())
	nodes := map[string]testNode{}
	for _, name := range []string{"a@mem", "b@mem", "c@mem"} {
		nodes[name] = listen(t, n, name, nil)
	}
	for _, from := range []string{"a@mem", "b@mem"} {
		if err := nodes[from].ep.Connect(context.Background(), "c@mem"); err != nil {
			t.Fatal(err)
		}
	}
	if err := nodes["a@mem"].ep.Connect(context.Background(), "b@mem"); err != nil {
		t.Fatal(err)
	}
	n.Partition([]string{"a@mem", "b@mem"}, []string{"c@mem"})
	waitFor(t, 5*time.Second, "c sees both down", func() bool { return nodes["c@mem"].rec.count("down:") == 2 })
	if got := len(nodes["a@mem"].ep.Peers()); got != 1 {
		t.Fatalf("a has %d peers inside its side, want 1", got)
	}
	if err := nodes["c@mem"].ep.Connect(context.Background(), "a@mem"); !errors.Is(err, transport.ErrNoConnection) {
		t.Fatalf("connect across partition: %v", err)
	}
	n.Heal()
	if err := nodes["c@mem"].ep.Connect(context.Background(), "a@mem"); err != nil {
		t.Fatalf("connect after heal: %v", err)
	}
}

func TestDisconnectIsGraceful(t *testing.T) {
	n := New(DefaultConfig())
	a := listen(t, n, "a@mem", nil)
	b := listen(t, n, "b@mem", nil)
	b.rec.block = make(chan struct{})
	for i := range 10 {
		send(t, a, "b@mem", fmt.Sprint(i))
	}
	if err := a.ep.Disconnect("b@mem"); err != nil {
		t.Fatal(err)
	}
	close(b.rec.block)
	waitFor(t, 5*time.Second, "down", func() bool { return b.rec.count("down:") == 1 })
	if got := b.rec.count("msg:"); got != 10 {
		t.Fatalf("delivered %d of 10 frames queued before Disconnect", got)
	}
	if err := b.rec.down("a@mem"); !errors.Is(err, transport.ErrConnClosed) {
		t.Fatalf("reason %v", err)
	}
}

func TestCloseReasonsAndRestart(t *testing.T) {
	n := New(DefaultConfig())
	a := listen(t, n, "a@mem", nil)
	b := listen(t, n, "b@mem", nil)
	send(t, a, "b@mem", "x")
	if err := b.ep.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.rec.down("a@mem"); !errors.Is(err, transport.ErrShutdown) {
		t.Fatalf("local reason %v (Close must wait for PeerDown)", err)
	}
	waitFor(t, 5*time.Second, "a sees down", func() bool { return a.rec.count("down:") == 1 })
	if err := a.rec.down("b@mem"); !errors.Is(err, transport.ErrConnClosed) {
		t.Fatalf("remote reason %v", err)
	}
	m := &transport.Message{Type: transport.FrameSend}
	if err := b.ep.Send(context.Background(), "a@mem", m); !errors.Is(err, transport.ErrShutdown) {
		t.Fatalf("send after close: %v", err)
	}
	if err := a.ep.Send(context.Background(), "b@mem", m); !errors.Is(err, transport.ErrNoConnection) {
		t.Fatalf("send to closed: %v", err)
	}
	b2 := listen(t, n, "b@mem", func(c *EndpointConfig) { c.Creation = 8 })
	send(t, a, "b@mem", "again")
	waitFor(t, 5*time.Second, "restarted node gets frame", func() bool { return b2.rec.count("msg:") == 1 })
	if p := a.ep.Peers(); len(p) != 1 || p[0].Creation != 8 {
		t.Fatalf("peers after restart %+v", p)
	}
	if c, err := a.ep.SendCreation(context.Background(), "b@mem", m); err != nil || c != 8 {
		t.Fatalf("SendCreation after restart: creation %d, %v; want 8", c, err)
	}
}

func TestNameInUse(t *testing.T) {
	n := New(DefaultConfig())
	listen(t, n, "a@mem", nil)
	cfg := DefaultEndpointConfig()
	cfg.Name, cfg.Cookie = "a@mem", []byte("c")
	if _, err := n.Listen(cfg, newRecorder()); !errors.Is(err, ErrNameInUse) {
		t.Fatalf("duplicate listen: %v", err)
	}
	cfg.Name = "no-host"
	if _, err := n.Listen(cfg, newRecorder()); !errors.Is(err, transport.ErrBadName) {
		t.Fatalf("bad name: %v", err)
	}
}

func TestQueueFullBlocksUntilCtx(t *testing.T) {
	n := New(DefaultConfig())
	a := listen(t, n, "a@mem", nil)
	b := listen(t, n, "b@mem", func(c *EndpointConfig) { c.QueueLen = 1 })
	b.rec.block = make(chan struct{})
	defer close(b.rec.block)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	var err error
	for i := 0; i < 5 && err == nil; i++ {
		err = a.ep.Send(ctx, "b@mem", &transport.Message{Type: transport.FrameSend})
	}
	if !errors.Is(err, transport.ErrQueueFull) {
		t.Fatalf("want ErrQueueFull, got %v", err)
	}
}

func TestFaultsDelayKeepsOrderAndDropLoses(t *testing.T) {
	n := New(DefaultConfig())
	a := listen(t, n, "a@mem", nil)
	b := listen(t, n, "b@mem", nil)
	if err := n.SetFaults("a@mem", "b@mem", Faults{Delay: 2 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		send(t, a, "b@mem", fmt.Sprint(i))
	}
	waitFor(t, 5*time.Second, "delayed frames", func() bool { return b.rec.count("msg:") == 20 })
	for i, e := range b.rec.snapshot()[1:] {
		if e != fmt.Sprintf("msg:a@mem:%d", i) {
			t.Fatalf("order broken at %d: %q", i, e)
		}
	}
	if err := n.SetFaults("a@mem", "b@mem", Faults{DropRate: 1}); err != nil {
		t.Fatal(err)
	}
	send(t, a, "b@mem", "lost")
	n.ClearFaults()
	send(t, a, "b@mem", "kept")
	waitFor(t, 5*time.Second, "kept frame", func() bool { return b.rec.count("msg:a@mem:kept") == 1 })
	if b.rec.count("msg:a@mem:lost") != 0 {
		t.Fatal("frame with DropRate 1 was delivered")
	}
	if err := n.SetFaults("a@mem", "b@mem", Faults{DropRate: 2}); !errors.Is(err, ErrBadConfig) {
		t.Fatalf("bad faults: %v", err)
	}
}

func TestDialOnly(t *testing.T) {
	n := New(DefaultConfig())
	cli := listen(t, n, "cli@mem", func(c *EndpointConfig) { c.DialOnly, c.Hidden = true, true })
	srv := listen(t, n, "srv@mem", nil)
	if err := srv.ep.Connect(context.Background(), "cli@mem"); !errors.Is(err, transport.ErrNoConnection) {
		t.Fatalf("dialling a dial-only endpoint: %v", err)
	}
	send(t, cli, "srv@mem", "hi")
	send(t, srv, "cli@mem", "reply over the existing connection")
	waitFor(t, 5*time.Second, "reply", func() bool { return cli.rec.count("msg:") == 1 })
	if cli.ep.Addr() != "" {
		t.Fatal("dial-only endpoint has an address")
	}
}

func TestReconnectCallbacksSerialized(t *testing.T) {
	n := New(DefaultConfig())
	a := listen(t, n, "a@mem", nil)
	b := listen(t, n, "b@mem", nil)
	for range 50 {
		send(t, a, "b@mem", "x")
		_ = a.ep.Disconnect("b@mem")
	}
	waitFor(t, 5*time.Second, "50 downs", func() bool { return b.rec.count("down:") == 50 })
	ev := b.rec.snapshot()
	want := "up:"
	for _, e := range ev {
		if strings.HasPrefix(e, "msg:") {
			continue
		}
		if !strings.HasPrefix(e, want) {
			t.Fatalf("events out of order: %v", ev)
		}
		if want == "up:" {
			want = "down:"
		} else {
			want = "up:"
		}
	}
	if a.rec.overlp.Load() || b.rec.overlp.Load() {
		t.Fatal("callbacks overlapped")
	}
}

func TestNodesAndSelfConnect(t *testing.T) {
	n := New(DefaultConfig())
	a := listen(t, n, "a@mem", nil)
	listen(t, n, "b@mem", nil)
	if got := strings.Join(n.Nodes(), ","); got != "a@mem,b@mem" {
		t.Fatalf("Nodes = %s", got)
	}
	if err := a.ep.Connect(context.Background(), "a@mem"); !errors.Is(err, transport.ErrNoConnection) {
		t.Fatalf("self connect: %v", err)
	}
	if err := a.ep.Connect(context.Background(), "nobody@mem"); !errors.Is(err, transport.ErrNoConnection) {
		t.Fatalf("unknown node: %v", err)
	}
}
