package membership

import (
	"bufio"
	"os"
	"slices"
	"strings"
)

// Peer is a member a node knew before this start (from Serf's snapshot).
type Peer struct {
	Name string `json:"name"`
	Addr string `json:"addr"` // gossip ip:port
}

// readSnapshotPeers lists the members (other than self) that Serf's
// snapshot at path records as alive when the node last ran: Serf rejoins
// them by itself at start (Config.SnapshotPath). Serf's snapshot is a text
// log of "alive: NAME ADDR" and "not-alive: NAME" lines (serf/snapshot.go,
// stable since Serf 0.6); anything else is skipped. A missing or
// unreadable file lists nobody.
func readSnapshotPeers(path, self string) []Peer {
	if path == "" {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	alive := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "alive: "):
			if name, addr, ok := strings.Cut(strings.TrimPrefix(line, "alive: "), " "); ok && name != self {
				alive[name] = addr
			}
		case strings.HasPrefix(line, "not-alive: "):
			delete(alive, strings.TrimPrefix(line, "not-alive: "))
		}
	}
	out := make([]Peer, 0, len(alive))
	for name, addr := range alive {
		out = append(out, Peer{Name: name, Addr: addr})
	}
	slices.SortFunc(out, func(a, b Peer) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// PreviousPeers returns the members the snapshot (Config.SnapshotPath)
// listed as alive when this node last ran, other than itself: the cluster
// it belonged to, which Serf tries to rejoin at Start. Empty without a
// snapshot or on a first start.
func (m *Membership) PreviousPeers() []Peer { return slices.Clone(m.prev) }
