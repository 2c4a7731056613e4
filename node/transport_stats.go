package node

import "github.com/placerhq/placer/transport"

// TransportStats returns the handshake counters of the node's transport
// (admissions, authentication failures, timeouts, evictions; see
// transport.Stats), and false if the transport does not count them.
func (n *Node) TransportStats() (transport.Stats, bool) {
	if s, ok := n.tr.(transport.StatsSource); ok {
		return s.Stats(), true
	}
	return transport.Stats{}, false
}
