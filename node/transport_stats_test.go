package node_test

import (
	"testing"

	"github.com/placerhq/placer/node/nodetest"
)

// TestTransportStats: a node exposes its transport's handshake counters,
// on TCP and on memnet, for the agent's /metrics.
func TestTransportStats(t *testing.T) {
	for _, tr := range []nodetest.Transport{nodetest.Memnet, nodetest.TCP} {
		t.Run(tr.String(), func(t *testing.T) {
			c := cluster(t, 2, nodetest.Options{Transport: tr})
			s0, ok0 := c.Node(0).TransportStats()
			s1, ok1 := c.Node(1).TransportStats()
			if !ok0 || !ok1 || s0.InboundAuthenticated+s1.InboundAuthenticated != 1 {
				t.Fatalf("stats %+v %v, %+v %v: want one authenticated handshake", s0, ok0, s1, ok1)
			}
		})
	}
}
