package membership

import (
	"maps"
	"slices"
	"testing"

	"pgregory.net/rapid"
)

func mem(name string, st Status) Member {
	return Member{Name: name, Weight: 1, ProtocolVersion: 1, Status: st, Tags: map[string]string{}}
}

func TestTrackerTransitions(t *testing.T) {
	reweighted := mem("a", StatusAlive)
	reweighted.Weight = 4
	steps := []struct {
		m    Member
		want ChangeKind // 0 = no change
		prev Status
	}{
		{mem("a", StatusFailed), 0, 0}, // first seen failed: nothing changed for us
		{mem("a", StatusAlive), ChangeRejoin, StatusFailed},
		{mem("a", StatusAlive), 0, 0}, // repeat
		{reweighted, ChangeUpdate, StatusAlive},
		{mem("a", StatusFailed), ChangeFailed, StatusAlive},
		{mem("a", StatusFailed), 0, 0},
		{mem("a", StatusAlive), ChangeRejoin, StatusFailed},
		{mem("a", StatusLeaving), ChangeLeave, StatusAlive},
		{mem("a", StatusLeft), 0, 0}, // leaving -> left is one departure
		{mem("a", StatusAlive), ChangeJoin, StatusLeft},
		{mem("b", StatusAlive), ChangeJoin, 0},
	}
	tr := newTracker()
	for i, s := range steps {
		c, ok := tr.observe(s.m)
		if s.want == 0 {
			if ok {
				t.Fatalf("step %d: unexpected %+v", i, c)
			}
			continue
		}
		if !ok || c.Kind != s.want || c.Previous != s.prev || c.Member.Name != s.m.Name {
			t.Fatalf("step %d: got %+v ok=%v, want %v from %v", i, c, ok, s.want, s.prev)
		}
	}
	if tr.heals != 2 {
		t.Fatalf("heals %d, want 2", tr.heals)
	}
	if c, ok := tr.remove("a"); !ok || c.Kind != ChangeReap || c.Member.Status != StatusAlive {
		t.Fatalf("reap %+v %v", c, ok)
	}
	if _, ok := tr.remove("a"); ok {
		t.Fatal("second reap reported")
	}
}

func TestTrackerReconcile(t *testing.T) {
	tr := newTracker()
	tr.reconcile([]Member{mem("a", StatusAlive), mem("b", StatusAlive), mem("c", StatusAlive)})
	got := tr.reconcile([]Member{mem("a", StatusAlive), mem("c", StatusFailed), mem("d", StatusAlive)})
	want := []struct {
		k    ChangeKind
		name string
	}{{ChangeFailed, "c"}, {ChangeJoin, "d"}, {ChangeReap, "b"}}
	if len(got) != len(want) {
		t.Fatalf("changes %+v", got)
	}
	for i, w := range want {
		if got[i].Kind != w.k || got[i].Member.Name != w.name {
			t.Fatalf("change %d: %+v, want %v %s", i, got[i], w.k, w.name)
		}
	}
	if again := tr.reconcile([]Member{mem("a", StatusAlive), mem("c", StatusFailed), mem("d", StatusAlive)}); len(again) != 0 {
		t.Fatalf("a repeated reconcile reported %+v", again)
	}
}

// TestTrackerProperty: after any sequence of observations and removals,
// the tracker's state matches the last observation of each member, and a
// ChangeRejoin is reported exactly when a member known as failed turns
// alive (naive model: a map of last statuses).
func TestTrackerProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		tr := newTracker()
		model := map[string]Status{}
		heals := uint64(0)
		ops := rapid.IntRange(1, 60).Draw(t, "ops")
		for range ops {
			name := rapid.SampledFrom([]string{"a", "b", "c"}).Draw(t, "name")
			if rapid.IntRange(0, 9).Draw(t, "reap") == 0 {
				_, ok := tr.remove(name)
				_, had := model[name]
				if ok != had {
					t.Fatalf("remove %s: reported %v, model had %v", name, ok, had)
				}
				delete(model, name)
				continue
			}
			st := Status(rapid.IntRange(1, 4).Draw(t, "status"))
			c, ok := tr.observe(mem(name, st))
			old, had := model[name]
			model[name] = st
			wantRejoin := had && old == StatusFailed && st == StatusAlive
			if wantRejoin {
				heals++
			}
			if (ok && c.Kind == ChangeRejoin) != wantRejoin {
				t.Fatalf("%s %v -> %v: got %+v ok=%v", name, old, st, c, ok)
			}
			if ok && (c.Member.Status != st || (had && c.Previous != old)) {
				t.Fatalf("change %+v for %v -> %v", c, old, st)
			}
		}
		for name, st := range model {
			if tr.known[name].Status != st {
				t.Fatalf("%s: tracker %v, model %v", name, tr.known[name].Status, st)
			}
		}
		if len(tr.known) != len(model) || tr.heals != heals {
			t.Fatalf("tracker %d members/%d heals, model %d/%d", len(tr.known), tr.heals, len(model), heals)
		}
	})
}

func TestQuorumRules(t *testing.T) {
	q := newQuorumTracker()
	all := []Member{mem("a", StatusAlive), mem("b", StatusAlive), mem("c", StatusAlive), mem("d", StatusAlive), mem("e", StatusAlive)}
	if v := q.update(all); len(v.Full) != 5 || v.Alive != 5 || !v.Majority {
		t.Fatalf("full cluster %+v", v)
	}
	// 2|3 partition seen from the 2-side: the other three fail.
	minority := []Member{mem("a", StatusAlive), mem("b", StatusAlive), mem("c", StatusFailed), mem("d", StatusFailed), mem("e", StatusFailed)}
	if v := q.update(minority); v.Alive != 2 || v.Majority || len(v.Full) != 5 {
		t.Fatalf("minority side %+v", v)
	}
	// Serf reaps the failed members: they still count.
	if v := q.update(minority[:2]); v.Majority || len(v.Full) != 5 {
		t.Fatalf("reaping must not shrink the full membership: %+v", v)
	}
	// A graceful leave shrinks it: a and b of {a,b,c,d,e} minus d,e left = {a,b,c}.
	departed := []Member{mem("a", StatusAlive), mem("b", StatusAlive), mem("c", StatusFailed), mem("d", StatusLeft), mem("e", StatusLeaving)}
	if v := q.update(departed); len(v.Full) != 3 || v.Alive != 2 || !v.Majority {
		t.Fatalf("after d and e left %+v", v)
	}
	// Even split: no side has a strict majority.
	q2 := newQuorumTracker()
	q2.update([]Member{mem("a", StatusAlive), mem("b", StatusAlive), mem("c", StatusAlive), mem("d", StatusAlive)})
	if v := q2.update([]Member{mem("a", StatusAlive), mem("b", StatusAlive), mem("c", StatusFailed), mem("d", StatusFailed)}); v.Majority {
		t.Fatalf("2 of 4 is not a strict majority: %+v", v)
	}
	if v := q2.reset([]Member{mem("a", StatusAlive), mem("b", StatusAlive), mem("c", StatusFailed)}); !v.Majority || len(v.Full) != 2 {
		t.Fatalf("reset %+v", v)
	}
}

// TestQuorumProperty checks the quorum tracker against a naive model and
// the safety property it exists for: two disjoint alive sets, evaluated
// against the same history, never both hold a majority.
func TestQuorumProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		names := []string{"a", "b", "c", "d", "e", "f"}
		q := newQuorumTracker()
		full := map[string]bool{}
		steps := rapid.IntRange(1, 30).Draw(t, "steps")
		var current []Member
		for range steps {
			current = current[:0]
			for _, n := range names {
				st := Status(rapid.IntRange(0, 4).Draw(t, "st_"+n)) // 0 = not listed
				if st == 0 {
					continue
				}
				current = append(current, mem(n, st))
				switch {
				case st == StatusAlive:
					full[n] = true
				case st.departed():
					delete(full, n)
				}
			}
			v := q.update(current)
			alive := 0
			for _, m := range current {
				if full[m.Name] && m.Status == StatusAlive {
					alive++
				}
			}
			fullNames := slices.Sorted(maps.Keys(full))
			if !slices.Equal(v.Full, fullNames) || v.Alive != alive || v.Majority != (2*alive > len(full)) {
				t.Fatalf("tracker %+v, model full=%v alive=%d", v, fullNames, alive)
			}
		}
		// Split the full membership into two disjoint sides: at most one
		// side has a majority.
		var sideA, sideB []Member
		for _, n := range slices.Sorted(maps.Keys(full)) {
			if rapid.Bool().Draw(t, "side_"+n) {
				sideA = append(sideA, mem(n, StatusAlive))
			} else {
				sideB = append(sideB, mem(n, StatusAlive))
			}
		}
		qa, qb := &quorumTracker{full: maps.Clone(q.full)}, &quorumTracker{full: maps.Clone(q.full)}
		if qa.verdict(sideA).Majority && qb.verdict(sideB).Majority {
			t.Fatalf("both sides of %v have a majority", slices.Sorted(maps.Keys(full)))
		}
	})
}
