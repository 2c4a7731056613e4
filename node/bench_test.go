package node_test

import (
	"context"
	"testing"

	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/node/nodetest"
)

// sink counts messages and answers calls with nothing; a call therefore
// completes only after every earlier message from the same sender.
type sink struct{ node.Base }

func (sink) HandleCall(*node.Proc, node.PID, []byte) ([]byte, error) { return nil, nil }

func benchCluster(b *testing.B, tr nodetest.Transport, n int) *nodetest.Cluster {
	b.Helper()
	c := nodetest.New(b, n, nodetest.Options{Transport: tr, Configure: func(_ int, cfg *node.Config) {
		cfg.Kinds = map[string]node.KindFactory{"sink": func() node.Behavior { return sink{} }}
		cfg.MailboxSize = 1 << 16
	}})
	if err := c.ConnectAll(context.Background()); err != nil {
		b.Fatal(err)
	}
	return c
}

func spawnSink(b *testing.B, c *nodetest.Cluster, on int) node.PID {
	b.Helper()
	pid, err := c.Node(0).SpawnOn(context.Background(), c.Name(on), "sink", nil, node.SpawnOpts{})
	if err != nil {
		b.Fatal(err)
	}
	return pid
}

// sendWindowed sends b.N messages from an inbox to pid, with a call every
// window messages so that the sender never overruns the mailbox.
func sendWindowed(b *testing.B, c *nodetest.Cluster, pid node.PID) {
	ib, err := c.Node(0).NewInbox()
	if err != nil {
		b.Fatal(err)
	}
	defer ib.Close()
	payload := make([]byte, 64)
	const window = 4096
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if err := ib.Send(pid, payload); err != nil {
			b.Fatal(err)
		}
		if i%window == window-1 || i == b.N-1 {
			if _, err := ib.Call(context.Background(), pid, nil); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkLocalSend(b *testing.B) {
	c := benchCluster(b, nodetest.Memnet, 1)
	sendWindowed(b, c, spawnSink(b, c, 0))
}

func BenchmarkRemoteSendMemnet(b *testing.B) {
	c := benchCluster(b, nodetest.Memnet, 2)
	sendWindowed(b, c, spawnSink(b, c, 1))
}

func BenchmarkRemoteSendTCP(b *testing.B) {
	c := benchCluster(b, nodetest.TCP, 2)
	sendWindowed(b, c, spawnSink(b, c, 1))
}

func benchCall(b *testing.B, tr nodetest.Transport, on int) {
	c := benchCluster(b, tr, 2)
	pid := spawnSink(b, c, on)
	ib, err := c.Node(0).NewInbox()
	if err != nil {
		b.Fatal(err)
	}
	defer ib.Close()
	req := make([]byte, 64)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := ib.Call(ctx, pid, req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLocalCall(b *testing.B)        { benchCall(b, nodetest.Memnet, 0) }
func BenchmarkRemoteCallMemnet(b *testing.B) { benchCall(b, nodetest.Memnet, 1) }
func BenchmarkRemoteCallTCP(b *testing.B)    { benchCall(b, nodetest.TCP, 1) }

func benchSpawn(b *testing.B, tr nodetest.Transport, on int) {
	c := benchCluster(b, tr, 2)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		pid, err := c.Node(0).SpawnOn(ctx, c.Name(on), "sink", nil, node.SpawnOpts{})
		if err != nil {
			b.Fatal(err)
		}
		if err := c.Node(0).Exit(pid, node.Reason{Kind: node.Killed}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSpawn(b *testing.B)          { benchSpawn(b, nodetest.Memnet, 0) }
func BenchmarkRemoteSpawnTCP(b *testing.B) { benchSpawn(b, nodetest.TCP, 1) }
