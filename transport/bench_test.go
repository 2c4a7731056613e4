package transport

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// countHandler counts messages and signals when a target is reached.
type countHandler struct {
	n      atomic.Int64
	target atomic.Int64
	done   chan struct{}
}

func (h *countHandler) HandleMessage(string, *Message) {
	if h.n.Add(1) == h.target.Load() {
		h.done <- struct{}{}
	}
}
func (h *countHandler) PeerUp(PeerInfo)          {}
func (h *countHandler) PeerDown(PeerInfo, error) {}

// benchPair starts a sending endpoint and a counting receiver.
func benchPair(b *testing.B) (*Endpoint, *Endpoint, *countHandler) {
	b.Helper()
	hb := &countHandler{done: make(chan struct{}, 1)}
	a, err := Listen(testConfig("a@127.0.0.1"), &countHandler{})
	if err != nil {
		b.Fatal(err)
	}
	rb, err := Listen(testConfig("b@127.0.0.1"), hb)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = a.Close(); _ = rb.Close() })
	a.SetAddr(rb.Name(), rb.Addr())
	if err := a.Connect(context.Background(), rb.Name()); err != nil {
		b.Fatal(err)
	}
	return a, rb, hb
}

func benchmarkSend(b *testing.B, size int) {
	a, rb, hb := benchPair(b)
	m := &Message{Type: FrameSend, From: pid(a.Name(), 1), To: pid(rb.Name(), 2), Payload: make([]byte, size)}
	ctx := context.Background()
	hb.target.Store(int64(b.N))
	b.SetBytes(int64(size))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := a.Send(ctx, rb.Name(), m); err != nil {
			b.Fatal(err)
		}
	}
	select {
	case <-hb.done:
	case <-time.After(time.Minute):
		b.Fatal("messages did not arrive")
	}
}

func BenchmarkSend64(b *testing.B)  { benchmarkSend(b, 64) }
func BenchmarkSend1K(b *testing.B)  { benchmarkSend(b, 1<<10) }
func BenchmarkSend32K(b *testing.B) { benchmarkSend(b, 32<<10) }
func BenchmarkSend1M(b *testing.B)  { benchmarkSend(b, 1<<20-1<<10) }

// replyHandler answers every Call with a Reply and forwards Replies to ch.
type replyHandler struct {
	ep *Endpoint
	ch chan uint64
}

func (h *replyHandler) HandleMessage(peer string, m *Message) {
	switch m.Type {
	case FrameCall:
		_ = h.ep.Send(context.Background(), peer, &Message{Type: FrameReply, To: m.From, Ref: m.Ref, Payload: m.Payload})
	case FrameReply:
		h.ch <- m.Ref
	}
}
func (h *replyHandler) PeerUp(PeerInfo)          {}
func (h *replyHandler) PeerDown(PeerInfo, error) {}

// BenchmarkCallRTT measures sequential call round trips (64-byte payload).
func BenchmarkCallRTT(b *testing.B) {
	ha, hb := &replyHandler{ch: make(chan uint64, 1)}, &replyHandler{}
	var err error
	if ha.ep, err = Listen(testConfig("a@127.0.0.1"), ha); err != nil {
		b.Fatal(err)
	}
	if hb.ep, err = Listen(testConfig("b@127.0.0.1"), hb); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = ha.ep.Close(); _ = hb.ep.Close() })
	ha.ep.SetAddr(hb.ep.Name(), hb.ep.Addr())
	ctx := context.Background()
	m := &Message{Type: FrameCall, From: pid(ha.ep.Name(), 1), To: pid(hb.ep.Name(), 2), TTL: time.Second, Payload: make([]byte, 64)}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m.Ref = uint64(i + 1)
		if err := ha.ep.Send(ctx, hb.ep.Name(), m); err != nil {
			b.Fatal(err)
		}
		if r := <-ha.ch; r != m.Ref {
			b.Fatalf("reply %d to call %d", r, m.Ref)
		}
	}
}
