package placement

import (
	"github.com/placerhq/placer/ring"
)

// The planner is the pure core of rebalancing: given the keys a node hosts
// and two rings, which keys must move, and where. It does no I/O, reads no
// clock and starts no goroutine, so it is tested exhaustively against a
// naive per-key model (planner_test.go, testdata/plans/*.txt).

// keyID identifies a keyed process: ownership depends on Key only, so every
// kind of one key lives on the same node.
type keyID struct {
	Kind string
	Key  string
}

// hostedKey is a key hosted here, with its ring position.
type hostedKey struct {
	ID   keyID
	Hash uint64 // ring.HashString(ID.Key)
}

// move says that a hosted key must be handed to another node.
type move struct {
	ID keyID
	To string
}

// planDiff plans the moves of a view change from old to new for the keys
// hosted by self: a key moves when self owned it in old and another member
// owns it in new. (A per-key comparison works for every strategy; for two
// vnode rings it gives exactly the keys whose hash lies in a range that
// ring.Diff gives from self to another member.) A hosted key that self did
// not own in old (a handoff that failed, a duplicate found at heal) is
// only caught by planFull.
func planDiff(self string, hosted []hostedKey, old, new ring.Strategy) []move {
	if old.Checksum() == new.Checksum() {
		return nil
	}
	var out []move
	for _, h := range hosted {
		if old.LocateHash(h.Hash) != self {
			continue
		}
		if to := new.LocateHash(h.Hash); to != "" && to != self {
			out = append(out, move{ID: h.ID, To: to})
		}
	}
	return out
}

// planFull plans the moves that make every hosted key live on its owner in
// r: each hosted key whose owner is not self moves to its owner. Keys stay
// when r has no members.
func planFull(self string, hosted []hostedKey, r ring.Strategy) []move {
	var out []move
	for _, h := range hosted {
		if o := r.LocateHash(h.Hash); o != "" && o != self {
			out = append(out, move{ID: h.ID, To: o})
		}
	}
	return out
}
