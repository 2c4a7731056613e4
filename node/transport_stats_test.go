package node_test

import (
	"fmt"
	"testing"

	"github.com/placerhq/placer/node/nodetest"
)

// TestTransportStats: a node exposes its transport's handshake counters,
// on TCP and on memnet, for the agent's /metrics. The acceptor counts the
// handshake when the dialer's last message arrives, which may be after
// the dialer's Connect returned: wait for it.
func TestTransportStats(t *testing.T) {
	for _, tr := range []nodetest.Transport{nodetest.Memnet, nodetest.TCP} {
		t.Run(tr.String(), func(t *testing.T) {
			c := cluster(t, 2, nodetest.Options{Transport: tr})
			nodetest.WaitFor(t, wait, "one authenticated handshake", func() bool {
				s0, ok0 := c.Node(0).TransportStats()
				s1, ok1 := c.Node(1).TransportStats()
				if !ok0 || !ok1 {
					t.Fatalf("no transport stats: %v %v", ok0, ok1)
				}
				n := s0.InboundAuthenticated + s1.InboundAuthenticated
				if n > 1 {
					t.Fatalf("%d authenticated handshakes between two nodes: %s", n, fmt.Sprint(s0, s1))
				}
				return n == 1
			})
		})
	}
}
