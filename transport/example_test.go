package transport_test

import (
	"context"
	"fmt"
	"time"

	"github.com/placerhq/placer/transport"
)

// inbox is a minimal Handler: it hands each message to a channel.
type inbox chan *transport.Message

func (in inbox) HandleMessage(peer string, m *transport.Message) { in <- m }
func (in inbox) PeerUp(transport.PeerInfo)                       {}
func (in inbox) PeerDown(transport.PeerInfo, error)              {}

// Two endpoints on loopback: a sends to a registered name on b, connecting
// (and authenticating with the shared cookie) on first use.
func Example() {
	cfg := transport.DefaultConfig()
	cfg.Cookie = []byte("use 32 random bytes in real life")
	cfg.ListenAddr = "127.0.0.1:0"

	cfg.Name = "b@127.0.0.1"
	atB := make(inbox, 1)
	b, err := transport.Listen(cfg, atB)
	if err != nil {
		panic(err)
	}
	defer b.Close()

	cfg.Name = "a@127.0.0.1"
	a, err := transport.Listen(cfg, make(inbox, 1))
	if err != nil {
		panic(err)
	}
	defer a.Close()
	a.SetAddr(b.Name(), b.Addr()) // placement fills this from membership

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = a.Send(ctx, b.Name(), &transport.Message{
		Type:    transport.FrameRegSend,
		From:    transport.PID{Node: a.Name(), ID: 1},
		ToName:  "greeter",
		Payload: []byte("hello"),
	})
	if err != nil {
		panic(err)
	}
	m := <-atB
	fmt.Println(m.Type, m.ToName, string(m.Payload), "from", m.From.Node)
	fmt.Println("b's peers:", len(b.Peers()))
	// Output:
	// RegSend greeter hello from a@127.0.0.1
	// b's peers: 1
}
