package transport

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/placerhq/placer/internal/poll"
)

// waitFor polls cond until it holds or timeout passes (internal/poll).
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	poll.CheckFor(t, timeout, poll.Cond(cond, func() string { return "waiting for " + what }))
}

// event is one Handler callback, recorded in order.
type event struct {
	kind   string // "up", "down", "msg"
	peer   string
	info   PeerInfo
	reason error
	msg    *Message
}

// recorder is a Handler that records every callback and checks the
// Handler contract: PeerUp before messages, one PeerDown per PeerUp, no
// overlapping callbacks for one peer.
type recorder struct {
	mu      sync.Mutex
	events  []event
	active  map[string]int // callbacks running per peer
	up      map[string]bool
	faults  []string
	onMsg   func(peer string, m *Message) // optional, called outside mu
	blockMu sync.Mutex                    // held by tests to stall HandleMessage
}

func newRecorder() *recorder {
	return &recorder{active: map[string]int{}, up: map[string]bool{}}
}

func (r *recorder) enter(peer string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.active[peer]++
	if r.active[peer] > 1 {
		r.faults = append(r.faults, "overlapping callbacks for "+peer)
	}
}

func (r *recorder) leave(peer string) {
	r.mu.Lock()
	r.active[peer]--
	r.mu.Unlock()
}

func (r *recorder) HandleMessage(peer string, m *Message) {
	r.enter(peer)
	defer r.leave(peer)
	r.blockMu.Lock()
	//lint:ignore SA2001 a gate that tests hold to stall the handler, not a critical section
	r.blockMu.Unlock()
	r.mu.Lock()
	if !r.up[peer] {
		r.faults = append(r.faults, "message from "+peer+" outside PeerUp..PeerDown")
	}
	r.events = append(r.events, event{kind: "msg", peer: peer, msg: m})
	f := r.onMsg
	r.mu.Unlock()
	if f != nil {
		f(peer, m)
	}
}

func (r *recorder) PeerUp(p PeerInfo) {
	r.enter(p.Name)
	defer r.leave(p.Name)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.up[p.Name] {
		r.faults = append(r.faults, "PeerUp twice for "+p.Name)
	}
	r.up[p.Name] = true
	r.events = append(r.events, event{kind: "up", peer: p.Name, info: p})
}

func (r *recorder) PeerDown(p PeerInfo, reason error) {
	r.enter(p.Name)
	defer r.leave(p.Name)
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.up[p.Name] {
		r.faults = append(r.faults, "PeerDown without PeerUp for "+p.Name)
	}
	r.up[p.Name] = false
	r.events = append(r.events, event{kind: "down", peer: p.Name, info: p, reason: reason})
}

func (r *recorder) count(kind, peer string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, e := range r.events {
		if e.kind == kind && (peer == "" || e.peer == peer) {
			n++
		}
	}
	return n
}

func (r *recorder) messages() []*Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*Message
	for _, e := range r.events {
		if e.kind == "msg" {
			out = append(out, e.msg)
		}
	}
	return out
}

// lastDown returns the reason of the latest PeerDown for peer, or nil.
func (r *recorder) lastDown(peer string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.events) - 1; i >= 0; i-- {
		if e := r.events[i]; e.kind == "down" && e.peer == peer {
			return e.reason
		}
	}
	return nil
}

func (r *recorder) lastUp(peer string) (PeerInfo, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.events) - 1; i >= 0; i-- {
		if e := r.events[i]; e.kind == "up" && e.peer == peer {
			return e.info, true
		}
	}
	return PeerInfo{}, false
}

func (r *recorder) checkFaults(t testing.TB) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, f := range r.faults {
		t.Error("handler contract:", f)
	}
}

var testCookie = []byte("0123456789abcdef0123456789abcdef")

// testConfig returns a config for name on loopback with short timeouts.
func testConfig(name string) Config {
	cfg := DefaultConfig()
	cfg.Name = name
	cfg.Cookie = testCookie
	cfg.ListenAddr = "127.0.0.1:0"
	cfg.HandshakeTimeout = 2 * time.Second
	return cfg
}

type node struct {
	ep  *Endpoint
	rec *recorder
}

// startNode starts an endpoint and closes it (checking the handler
// contract) when the test ends.
func startNode(t testing.TB, cfg Config) *node {
	t.Helper()
	rec := newRecorder()
	ep, err := Listen(cfg, rec)
	if err != nil {
		t.Fatalf("Listen %s: %v", cfg.Name, err)
	}
	t.Cleanup(func() {
		_ = ep.Close()
		rec.checkFaults(t)
	})
	return &node{ep: ep, rec: rec}
}

// startPair starts two endpoints that know each other's address.
func startPair(t testing.TB, mod func(*Config)) (*node, *node) {
	t.Helper()
	ca, cb := testConfig("a@127.0.0.1"), testConfig("b@127.0.0.1")
	if mod != nil {
		mod(&ca)
		mod(&cb)
	}
	a, b := startNode(t, ca), startNode(t, cb)
	a.ep.SetAddr(b.ep.Name(), b.ep.Addr())
	b.ep.SetAddr(a.ep.Name(), a.ep.Addr())
	return a, b
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func mustIs(t testing.TB, err error, targets ...error) {
	t.Helper()
	for _, target := range targets {
		if !errors.Is(err, target) {
			t.Fatalf("error %v: want it to wrap %v", err, target)
		}
	}
}

func pid(node string, id uint64) PID { return PID{Node: node, ID: id, Creation: 7} }

func seqMsg(from PID, to PID, i int) *Message {
	return &Message{Type: FrameSend, From: from, To: to, Payload: []byte(fmt.Sprintf("m%06d", i))}
}
