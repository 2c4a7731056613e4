package global

import (
	"testing"

	"pgregory.net/rapid"

	"github.com/placerhq/placer/node"
)

var testPIDs = []node.PID{{Node: "a@h", ID: 1, Creation: 1}, {Node: "b@h", ID: 2, Creation: 1}, {Node: "c@h", ID: 3, Creation: 1}}

func genRecord(t *rapid.T, label string) record {
	st := rapid.SampledFrom([]recState{stateNone, stateLive, stateTomb, stateGone}).Draw(t, label+".state")
	r := record{name: "n", state: st, pid: rapid.SampledFrom(testPIDs).Draw(t, label+".pid")}
	if st != stateNone {
		r.reg = rapid.Uint64Range(1, 20).Draw(t, label+".reg")
	}
	if st == stateTomb || st == stateGone {
		r.at = r.reg + rapid.Uint64Range(0, 20).Draw(t, label+".after")
	}
	return r
}

// The merge rules, checked on random records.
func TestMergeRules(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cur, claim := genRecord(t, "cur"), genRecord(t, "claim")
		m := merge(cur, claim, DefaultResolver)
		again := merge(m.next, claim, DefaultResolver)
		switch {
		case again.changed:
			t.Fatalf("not idempotent: %+v then %+v", m.next, again.next)
		case (claim.state == stateNone || claim.state == stateGone) && m.changed:
			t.Fatalf("a claim that says nothing changed %+v into %+v", cur, m.next)
		case cur.live() && claim.state == stateTomb && claim.pid != cur.pid && !m.next.sameAs(cur):
			t.Fatalf("a tombstone of another process ended %+v", cur)
		case cur.live() && claim.state == stateTomb && claim.pid == cur.pid && claim.at >= cur.reg && m.next.live():
			t.Fatalf("the tombstone of %+v did not end it", cur)
		case cur.live() && claim.live() && cur.pid != claim.pid:
			checkConflict(t, cur, claim, m)
		}
	})
}

// checkConflict: two live holders give the default resolver's winner,
// whichever side is the claim, and the other is the loser.
func checkConflict(t *rapid.T, cur, claim record, m mergeResult) {
	back := merge(claim, cur, DefaultResolver)
	if !m.conflict || m.next.pid != back.next.pid || m.loser.pid == m.next.pid {
		t.Fatalf("conflict %+v vs %+v: %+v, reversed %+v", cur, claim, m, back)
	}
	w := DefaultResolver("n", cur.registration(), claim.registration())
	if m.next.pid != w.PID {
		t.Fatalf("winner %v, resolver says %v", m.next.pid, w.PID)
	}
}

// A resolver that returns something else counts as the default.
func TestMergeBadResolver(t *testing.T) {
	a := record{name: "n", state: stateLive, pid: testPIDs[0], reg: 5}
	b := record{name: "n", state: stateLive, pid: testPIDs[1], reg: 3}
	m := merge(a, b, func(string, Registration, Registration) Registration { return Registration{} })
	if m.next.pid != b.pid || m.loser.pid != a.pid {
		t.Fatalf("got %+v", m)
	}
}
