package memnet

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/placerhq/placer/internal/logbuf"
	"github.com/placerhq/placer/transport"
)

// TestFrameLimit: as on TCP, a frame over the receiver's MaxFrameSize
// fails with transport.ErrFrameTooLarge naming the limit (not
// ErrNoConnection), and one at the limit passes.
func TestFrameLimit(t *testing.T) {
	n := New(DefaultConfig())
	a := listen(t, n, "a@mem", nil)
	listen(t, n, "b@mem", func(c *EndpointConfig) { c.MaxFrameSize = 4096 })
	m := &transport.Message{Type: transport.FrameSend, Payload: make([]byte, 4096)}
	err := a.ep.Send(context.Background(), "b@mem", m)
	if !errors.Is(err, transport.ErrFrameTooLarge) || errors.Is(err, transport.ErrNoConnection) || !strings.Contains(err.Error(), "4096") {
		t.Fatalf("oversize send: %v", err)
	}
	size, _ := transport.BodySize("a@mem", "b@mem", m)
	m.Payload = m.Payload[:4096-(size-4096)]
	if err := a.ep.Send(context.Background(), "b@mem", m); err != nil {
		t.Fatalf("send at the limit: %v", err)
	}
	if _, err := n.Listen(EndpointConfig{Name: "c@mem", Cookie: []byte("x"), MaxFrameSize: 100}, newRecorder()); !errors.Is(err, ErrBadConfig) {
		t.Fatalf("tiny MaxFrameSize: %v", err)
	}
}

type lockedBuffer = logbuf.Buffer

// TestRejectionsCountedAndRateLimited: wrong-cookie dials are counted on
// both sides, and the acceptor's warnings are rate-limited, their count
// reported at Close at the latest.
func TestRejectionsCountedAndRateLimited(t *testing.T) {
	n := New(DefaultConfig())
	var logs lockedBuffer
	a := listen(t, n, "a@mem", func(c *EndpointConfig) { c.Cookie = []byte("wrong") })
	b := listen(t, n, "b@mem", func(c *EndpointConfig) { c.Logger = zerolog.New(&logs) })
	for range 100 {
		if err := a.ep.Connect(context.Background(), "b@mem"); !errors.Is(err, transport.ErrAuth) {
			t.Fatalf("wrong cookie: %v", err)
		}
	}
	ok := listen(t, n, "c@mem", nil)
	send(t, ok, "b@mem", "hi")
	sb, sa := b.ep.Stats(), a.ep.Stats()
	if sb.InboundAccepted != 101 || sb.InboundAuthFailed != 100 || sb.InboundAuthenticated != 1 || sa.OutboundAuthFailed != 100 {
		t.Fatalf("acceptor %+v, dialer %+v", sb, sa)
	}
	_ = b.ep.Close()
	out := logs.String()
	if lines := strings.Count(out, "cookie mismatch"); lines < 2 || lines > 5 || !strings.Contains(out, `"suppressed":`) {
		t.Fatalf("%d warning lines for 100 rejections (want a few and a suppressed count): %s", lines, out)
	}
}
