package global

import (
	"time"

	"github.com/placerhq/placer/node"
)

// recState is what a record says of its name. ONLY APPEND TO THIS LIST:
// the values travel on the wire.
type recState uint8

const (
	// stateNone: nothing known (the zero record); never sent.
	stateNone recState = 0
	// stateLive: pid holds the name since reg.
	stateLive recState = 1
	// stateTomb: pid's registration (since reg) ended at at: unregistered,
	// or the process exited. It suppresses that registration when a side of
	// a partition that still holds it claims it at the heal, for
	// TombstoneTTL.
	stateTomb recState = 2
	// stateGone: the authority lost contact with pid's node (DOWN
	// noconnection). Not a tombstone: pid's node, where it may still live,
	// can claim it back.
	stateGone recState = 3
)

// stateMax is the highest state this version knows.
const stateMax = stateGone

// record is one name's state: an authority's, a node's replica entry, a
// claim or a dissemination. version is the authority's HLC timestamp of
// the change; it orders the changes of one name across authorities.
type record struct {
	name    string
	state   recState
	pid     node.PID
	reg     uint64 // HLC of the registration (live, tomb)
	at      uint64 // HLC of the end (tomb, gone)
	version uint64
}

func (r record) live() bool { return r.state == stateLive }

// sameAs reports whether r and o say the same thing (versions aside).
func (r record) sameAs(o record) bool {
	return r.state == o.state && r.pid == o.pid && r.reg == o.reg && r.at == o.at
}

// Registration is a live global name: who holds it since when.
type Registration struct {
	Name string
	PID  node.PID
	// Registered is the HLC timestamp of the registration (HLCTime gives
	// its wall time). The default resolver keeps the earlier one.
	Registered uint64
}

// Time returns when the registration was made, to the millisecond.
func (r Registration) Time() time.Time { return HLCTime(r.Registered) }

func (r record) registration() Registration {
	return Registration{Name: r.name, PID: r.pid, Registered: r.reg}
}

// Resolver picks the registration that keeps a name held by two live
// processes (Config.Resolve). It must return a or b.
type Resolver func(name string, a, b Registration) Registration

// DefaultResolver keeps the earlier registration by hybrid logical clock;
// ties go to the smaller node name, then the smaller process id.
func DefaultResolver(_ string, a, b Registration) Registration {
	switch {
	case a.Registered != b.Registered:
		return pick(a.Registered < b.Registered, a, b)
	case a.PID.Node != b.PID.Node:
		return pick(a.PID.Node < b.PID.Node, a, b)
	}
	return pick(a.PID.ID <= b.PID.ID, a, b)
}

func pick(first bool, a, b Registration) Registration {
	if first {
		return a
	}
	return b
}

// mergeResult is what merging a claim into an authority's record gives:
// the next record (version still to be set if changed) and, for two live
// holders, the loser.
type mergeResult struct {
	next     record
	changed  bool
	loser    record // live loser of a conflict (state none if no conflict)
	conflict bool
}

// merge folds a claim (what another node knows of the name) into cur, the
// authority's record. It is pure. The rules, whatever the order claims
// arrive in:
//   - a gone claim says nothing (the claimant lost contact);
//   - a tombstone beats the live registration it ended (same PID,
//     registered no later than it ended), and no other;
//   - two tombstones: the later stays;
//   - two live holders of different PIDs: resolve picks, the other loses;
//   - the same live PID: the earlier registration time stays;
//   - anything beats nothing (none, gone).
func merge(cur, claim record, resolve Resolver) mergeResult {
	if claim.state != stateLive && claim.state != stateTomb {
		return mergeResult{next: cur}
	}
	claim.name = cur.name
	if cur.state != stateLive && cur.state != stateTomb {
		return mergeResult{next: claim, changed: true}
	}
	next := mergeKnown(cur, claim, resolve)
	r := mergeResult{next: next, changed: !next.sameAs(cur)}
	if cur.live() && claim.live() && cur.pid != claim.pid {
		r.conflict, r.loser = true, cur
		if next.pid == cur.pid {
			r.loser = claim
		}
	}
	return r
}

// mergeKnown merges two records that both say something (live or tomb).
func mergeKnown(cur, claim record, resolve Resolver) record {
	switch {
	case cur.live() && claim.live():
		return mergeLive(cur, claim, resolve)
	case cur.live(): // claim is a tombstone
		return pickRec(ends(claim, cur), claim, cur)
	case claim.live(): // cur is a tombstone
		return pickRec(ends(cur, claim), cur, claim)
	}
	return pickRec(claim.at > cur.at, claim, cur)
}

// ends reports whether tombstone t ended live registration l.
func ends(t, l record) bool { return t.pid == l.pid && t.at >= l.reg }

func mergeLive(cur, claim record, resolve Resolver) record {
	if cur.pid == claim.pid {
		cur.reg = min(cur.reg, claim.reg)
		return cur
	}
	a, b := cur.registration(), claim.registration()
	w := resolve(cur.name, a, b)
	if w != a && w != b {
		w = DefaultResolver(cur.name, a, b)
	}
	return pickRec(w == a, cur, claim)
}

func pickRec(first bool, a, b record) record {
	if first {
		return a
	}
	return b
}
