package bench

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/placerhq/placer/transport"
)

// nodeBaseline is two bare TCP transport endpoints whose server answers a
// call inline on its reader: the transport-level call that the process
// call is compared with.
type nodeBaseline struct {
	client, server *transport.Endpoint
	replies        chan uint64
	seq            uint64
}

// nodeEcho is the server's handler: it answers every call with its payload.
type nodeEcho struct{ ep *transport.Endpoint }

func (h *nodeEcho) HandleMessage(peer string, m *transport.Message) {
	if m.Type == transport.FrameCall {
		r := &transport.Message{Type: transport.FrameReply, From: m.To, To: m.From, Ref: m.Ref, Payload: m.Payload}
		_ = h.ep.Send(context.Background(), peer, r)
	}
}
func (h *nodeEcho) PeerUp(transport.PeerInfo)          {}
func (h *nodeEcho) PeerDown(transport.PeerInfo, error) {}

// nodeReplies is the client's handler: it passes reply refs to a channel.
type nodeReplies struct{ ch chan uint64 }

func (h nodeReplies) HandleMessage(_ string, m *transport.Message) {
	if m.Type == transport.FrameReply {
		select {
		case h.ch <- m.Ref:
		default:
		}
	}
}
func (h nodeReplies) PeerUp(transport.PeerInfo)          {}
func (h nodeReplies) PeerDown(transport.PeerInfo, error) {}

func newNodeBaseline() (*nodeBaseline, error) {
	cookie := make([]byte, 32)
	if _, err := rand.Read(cookie); err != nil {
		return nil, err
	}
	echo := &nodeEcho{}
	cfg := transport.DefaultConfig()
	cfg.Name, cfg.Cookie, cfg.ListenAddr, cfg.Creation = "base-server@127.0.0.1", cookie, "127.0.0.1:0", 1
	server, err := transport.Listen(cfg, echo)
	if err != nil {
		return nil, err
	}
	echo.ep = server
	b := &nodeBaseline{server: server, replies: make(chan uint64, 1)}
	cfg.Name, cfg.ListenAddr = "base-client@127.0.0.1", ""
	if b.client, err = transport.Listen(cfg, nodeReplies{b.replies}); err != nil {
		_ = server.Close()
		return nil, err
	}
	b.client.SetAddr(server.Name(), server.Addr())
	if err := b.client.Connect(context.Background(), server.Name()); err != nil {
		b.close()
		return nil, err
	}
	return b, nil
}

// call makes one transport-level call and returns its round trip.
func (b *nodeBaseline) call(ctx context.Context, payload []byte) (time.Duration, error) {
	b.seq++
	m := &transport.Message{
		Type: transport.FrameCall, Ref: b.seq, TTL: 5 * time.Second, Payload: payload,
		From: transport.PID{Node: b.client.Name(), ID: 1, Creation: 1},
		To:   transport.PID{Node: b.server.Name(), ID: 1, Creation: 1},
	}
	start := time.Now()
	if err := b.client.Send(ctx, b.server.Name(), m); err != nil {
		return 0, err
	}
	for {
		select {
		case ref := <-b.replies:
			if ref == b.seq {
				return time.Since(start), nil
			}
		case <-ctx.Done():
			return 0, fmt.Errorf("baseline call %d: %w", b.seq, ctx.Err())
		}
	}
}

func (b *nodeBaseline) close() {
	_ = b.client.Close()
	_ = b.server.Close()
}
