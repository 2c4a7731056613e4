package global

import (
	"github.com/cespare/xxhash/v2"

	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/placement"
)

// Anti-entropy. Disseminations are at most once (a message in flight when
// a link drops is lost) and a node may refuse one while views change; the
// claims repair what a view change moved, and this repairs the rest: every
// SyncInterval each node sends each visible node a digest of the records
// it holds of the names that node owns; the owner compares it with its own
// (its replica is the truth of its range) and, if their views agree and
// the digests differ, sends a sync. Records are digested without their
// versions (two nodes may hold one record under two versions).

// recDigest hashes what a record says (buf is scratch space).
func recDigest(r record, buf []byte) uint64 {
	r.version = 0
	return xxhash.Sum64(appendRecord(buf[:0], r))
}

// sendDigests sends every visible node the digest of its range as this
// node's replica holds it.
func (s *Service) sendDigests(n *node.Node, v *placement.View) {
	peers := n.Nodes(node.NodesVisible)
	if len(peers) == 0 {
		return
	}
	digests := map[string]uint64{}
	var buf [512]byte
	s.tab.mu.RLock()
	for _, e := range s.tab.entries {
		digests[v.Owner(e.rec.name)] ^= recDigest(e.rec, buf[:])
	}
	s.tab.mu.RUnlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range peers {
		s.enqueueLocked([]string{p}, svcMsg{op: msgDigest, hlc: s.clock.now(), checksum: v.Checksum, digest: digests[p]})
	}
}

// checkDigest answers a peer's digest of this node's range with a sync if
// it differs from this node's own twice in a row (and their views agree):
// once may be a dissemination still in flight.
func (s *Service) checkDigest(peer string, m svcMsg) {
	c := s.c()
	if c == nil {
		return
	}
	v := c.View()
	if v.Checksum != m.checksum {
		return
	}
	if s.ownDigest(v) == m.digest {
		s.mismatch.Delete(peer)
		return
	}
	if _, again := s.mismatch.LoadOrStore(peer, true); again {
		s.mismatch.Delete(peer)
		s.stats.repairs.Add(1)
		s.sendSync(peer)
	}
}

// ownDigest digests the records of the names this node owns in v.
func (s *Service) ownDigest(v *placement.View) uint64 {
	var own uint64
	var buf [512]byte
	s.tab.mu.RLock()
	defer s.tab.mu.RUnlock()
	for _, e := range s.tab.entries {
		if v.Owner(e.rec.name) == s.name {
			own ^= recDigest(e.rec, buf[:])
		}
	}
	return own
}
