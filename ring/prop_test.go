package ring

import (
	"errors"
	"math"
	"slices"
	"testing"

	"pgregory.net/rapid"
)

func genMembers(t *rapid.T, minN, maxN int) []Member {
	names := rapid.SliceOfNDistinct(rapid.StringMatching(`[a-e]{1,3}`), minN, maxN, rapid.ID[string]).Draw(t, "names")
	ms := make([]Member, len(names))
	for i, n := range names {
		ms[i] = Member{Name: n, Weight: rapid.IntRange(1, 4).Draw(t, "weight")}
	}
	return ms
}

// genConfig draws a small ring configuration; posBits > 0 forces position
// collisions (3 bits: only 8 distinct positions). The header layout varies
// too: few buckets per point (most keys on the exact path), many (most
// buckets resolved), or none resolved at all.
func genConfig(t *rapid.T) Config {
	return Config{
		VNodes:      rapid.IntRange(1, 40).Draw(t, "vnodes"),
		posBits:     rapid.SampledFrom([]uint8{0, 0, 3, 6, 12}).Draw(t, "posBits"),
		bucketRatio: rapid.SampledFrom([]float64{0, 0, 0.1, 0.5, 4}).Draw(t, "bucketRatio"),
		noResolve:   rapid.IntRange(0, 5).Draw(t, "noResolve") == 0,
	}
}

// genHashes draws key hashes: random ones, and ones at, just before and just
// after points and region boundaries, where off-by-one errors live.
func genHashes(t *rapid.T, m *model) []uint64 {
	hs := rapid.SliceOfN(rapid.Uint64(), 1, 30).Draw(t, "hashes")
	hs = append(hs, 0, math.MaxUint64)
	w := m.winners()
	for i := 0; i < len(w) && i < 40; i++ {
		p := w[rapid.IntRange(0, len(w)-1).Draw(t, "point")]
		hs = append(hs, p.pos-1, p.pos, p.pos+1)
		if len(w) > 1 {
			q := w[rapid.IntRange(0, len(w)-1).Draw(t, "point2")]
			b := boundary(q.pos, p.pos)
			hs = append(hs, b-1, b, b+1)
		}
	}
	return hs
}

// fataler is the part of testing.TB and *rapid.T that mustNew needs.
type fataler interface {
	Helper()
	Fatalf(format string, args ...any)
}

func mustNew(t fataler, cfg Config, ms ...Member) *Ring {
	t.Helper()
	r, err := New(cfg, ms...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return r
}

// Locate and LocateN equal the naive linear-scan model, collisions included.
func TestPropLocateMatchesModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cfg := genConfig(t)
		ms := genMembers(t, 0, 8)
		r := mustNew(t, cfg, ms...)
		m := newModel(cfg, ms)
		for _, h := range genHashes(t, m) {
			if got, want := r.LocateHash(h), m.locate(h); got != want {
				t.Fatalf("LocateHash(%x) = %q, model %q", h, got, want)
			}
			n := rapid.IntRange(1, 10).Draw(t, "n")
			if got, want := r.AppendLocateNHash(nil, h, n), m.locateN(h, n); !slices.Equal(got, want) {
				t.Fatalf("LocateN(%x, %d) = %q, model %q", h, n, got, want)
			}
		}
	})
}

// A join moves keys only to the new member; a leave moves only the
// leaver's keys. Checked on sampled keys and, exhaustively, on Diff.
func TestPropJoinLeaveMoveOnlyWhatTheyMust(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cfg := genConfig(t)
		ms := genMembers(t, 1, 8)
		joiner := ms[len(ms)-1]
		before := mustNew(t, cfg, ms[:len(ms)-1]...)
		after, err := before.Add(joiner)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range genHashes(t, newModel(cfg, ms)) {
			if a, b := before.LocateHash(h), after.LocateHash(h); a != b && b != joiner.Name {
				t.Fatalf("join of %s moved %x from %s to %s", joiner.Name, h, a, b)
			}
			if a, b := after.LocateHash(h), before.LocateHash(h); a != b && a != joiner.Name {
				t.Fatalf("leave of %s moved %x from %s to %s", joiner.Name, h, a, b)
			}
		}
		for _, mv := range Diff(before, after) {
			if mv.To != joiner.Name {
				t.Fatalf("join diff has %v", mv)
			}
		}
		left, err := after.Remove(joiner.Name)
		if err != nil {
			t.Fatal(err)
		}
		for _, mv := range Diff(after, left) {
			if mv.From != joiner.Name {
				t.Fatalf("leave diff has %v", mv)
			}
		}
		if len(Diff(before, left)) != 0 {
			t.Fatalf("join then leave is not the identity: %v", Diff(before, left))
		}
	})
}

// LocateN returns min(n, Len) distinct members, the owner first: a member
// all of whose points collide with points of smaller names owns nothing
// now but is listed, since it owns those points once the others leave.
func TestPropLocateNDistinct(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cfg := genConfig(t)
		ms := genMembers(t, 0, 10)
		r := mustNew(t, cfg, ms...)
		owning := map[string]bool{} // members with at least one point
		for _, p := range newModel(cfg, ms).pts {
			owning[p.name] = true
		}
		key := []byte(rapid.String().Draw(t, "key"))
		n := rapid.IntRange(-1, 12).Draw(t, "n")
		got := r.LocateN(key, n)
		if want := max(0, min(n, len(owning))); len(got) != want {
			t.Fatalf("LocateN(n=%d) returned %d names, want %d", n, len(got), want)
		}
		seen := map[string]bool{}
		for _, name := range got {
			if seen[name] || !r.Has(name) {
				t.Fatalf("LocateN returned %q twice or a non-member: %q", name, got)
			}
			seen[name] = true
		}
		if len(got) > 0 && got[0] != r.Locate(key) {
			t.Fatalf("LocateN[0] = %q, Locate = %q", got[0], r.Locate(key))
		}
	})
}

// Diff is exact: a key hash lies in a move from A to B iff old places it on
// A and new on B, A != B.
func TestPropDiffExact(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cfg := genConfig(t)
		all := genMembers(t, 0, 8)
		pick := func(label string) []Member {
			var out []Member
			for _, m := range all {
				if rapid.Bool().Draw(t, label) {
					out = append(out, m)
				}
			}
			return out
		}
		a, b := mustNew(t, cfg, pick("a")...), mustNew(t, genConfig(t), pick("b")...)
		moves := Diff(a, b)
		for i := 1; i < len(moves); i++ {
			if moves[i].Start <= moves[i-1].End {
				t.Fatalf("moves overlap or are unsorted: %v %v", moves[i-1], moves[i])
			}
		}
		hs := genHashes(t, newModel(cfg, all))
		for _, mv := range moves {
			hs = append(hs, mv.Start, mv.End, mv.Start-1, mv.End+1)
		}
		for _, h := range hs {
			from, to := a.LocateHash(h), b.LocateHash(h)
			mv, ok := FindMove(moves, h)
			if ok != (from != to) || (ok && (mv.From != from || mv.To != to)) {
				t.Fatalf("h=%x: old %q new %q, FindMove = %v %v", h, from, to, mv, ok)
			}
		}
	})
}

// Incremental updates give exactly the ring a fresh build gives, and the
// order of insertion does not matter.
func TestPropUpdatesEqualFreshBuild(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cfg := genConfig(t)
		r := mustNew(t, cfg)
		for step := rapid.IntRange(1, 12).Draw(t, "steps"); step > 0; step-- {
			ms := genMembers(t, 0, 6)
			var cs []Change
			for _, m := range ms {
				switch {
				case !r.Has(m.Name):
					cs = append(cs, AddChange(m))
				case rapid.Bool().Draw(t, "remove"):
					cs = append(cs, RemoveChange(m.Name))
				default:
					cs = append(cs, SetWeightChange(m.Name, m.Weight))
				}
			}
			next, err := r.Apply(cs...)
			if err != nil {
				t.Fatal(err)
			}
			r = next
		}
		perm := rapid.Permutation(r.Members()).Draw(t, "order")
		fresh := mustNew(t, cfg, perm...)
		v1, s1 := canon(r)
		v2, s2 := canon(fresh)
		if !slices.Equal(v1, v2) || !slices.Equal(s1, s2) || r.Checksum() != fresh.Checksum() {
			t.Fatalf("incremental ring differs from a fresh build of the same members")
		}
		if r.k == fresh.k {
			fresh := relayout(fresh, r.nb)
			for li := range r.leaves {
				if a, b := headerView(r, li), headerView(fresh, li); !slices.Equal(a, b) {
					t.Fatalf("leaf %d: header differs from a fresh build:\n%v\n%v", li, a, b)
				}
			}
		}
		m := newModel(cfg, r.Members())
		for _, h := range genHashes(t, m) {
			if got, want := r.LocateHash(h), m.locate(h); got != want {
				t.Fatalf("incremental ring: LocateHash(%x) = %q, model %q", h, got, want)
			}
		}
	})
}

// Weights give proportional shares of the hash space: with the default
// VNodes a member's share is within 15% (relative) of weight/total; the
// spread is about 1/√(2×weight×VNodes) ≤ 2.2%, so 15% is about seven
// standard deviations.
func TestPropWeightsProportional(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(2, 6).Draw(t, "n")
		ms := make([]Member, n)
		for i := range ms {
			ms[i] = Member{Name: rapid.StringMatching(`[a-z]{4}`).Draw(t, "name") + string(rune('0'+i)), Weight: rapid.IntRange(1, 8).Draw(t, "w")}
		}
		r := mustNew(t, DefaultConfig(), ms...)
		share, _ := Shares(r)
		total := float64(totalWeight(ms))
		for _, m := range ms {
			want := float64(m.Weight) / total
			if got := share[m.Name]; math.Abs(got/want-1) > 0.15 {
				t.Fatalf("%s weight %d: share %.4f, want %.4f ±15%%", m.Name, m.Weight, got, want)
			}
		}
	})
}

// Invalid input is an error, never a panic, and never changes the ring.
func TestPropBadInputIsAnError(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		r := mustNew(t, genConfig(t), genMembers(t, 0, 5)...)
		sum := r.Checksum()
		c := Change{
			Op:     Op(rapid.IntRange(0, 4).Draw(t, "op")),
			Member: Member{Name: rapid.StringMatching(`[a-e]{0,3}`).Draw(t, "name"), Weight: rapid.IntRange(-1, MaxWeight+1).Draw(t, "w")},
		}
		_, err := r.Apply(c)
		valid := c.Member.Name != "" && (c.Op == OpRemove ||
			(c.Member.Weight >= 1 && c.Member.Weight <= MaxWeight && (c.Op == OpAdd || c.Op == OpSetWeight)))
		switch {
		case c.Op == OpAdd && r.Has(c.Member.Name):
			valid = false
		case (c.Op == OpRemove || c.Op == OpSetWeight) && !r.Has(c.Member.Name):
			valid = false
		}
		if valid != (err == nil) {
			t.Fatalf("Apply(%+v) on %v: err = %v, valid = %v", c, r.Members(), err, valid)
		}
		if err != nil && !errors.Is(err, ErrBadName) && !errors.Is(err, ErrBadWeight) && !errors.Is(err, ErrDuplicate) &&
			!errors.Is(err, ErrUnknownMember) && !errors.Is(err, ErrBadChange) {
			t.Fatalf("error %v wraps no sentinel", err)
		}
		if r.Checksum() != sum {
			t.Fatal("a failed Apply changed the ring")
		}
	})
}

// Diff between a ring and one derived from it (sharing untouched leaves)
// equals the plain merge of both rings' regions, and is exact.
func TestPropDiffDerivedRings(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cfg := genConfig(t)
		cfg.VNodes = rapid.IntRange(1, 200).Draw(t, "vnodes")
		all := genMembers(t, 1, 10)
		a := mustNew(t, cfg, all[:rapid.IntRange(0, len(all)).Draw(t, "start")]...)
		b := a
		for _, m := range all {
			var err error
			switch {
			case !b.Has(m.Name) && rapid.Bool().Draw(t, "add"):
				b, err = b.Add(m)
			case b.Has(m.Name) && rapid.Bool().Draw(t, "remove"):
				b, err = b.Remove(m.Name)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		got := Diff(a, b)
		want := diffBreaks(nil, a.breaks(), b.breaks(), 0, math.MaxUint64)
		if !slices.Equal(got, want) {
			t.Fatalf("Diff over shared leaves:\n%v\nfull merge:\n%v", got, want)
		}
		hs := genHashes(t, newModel(cfg, all))
		for _, mv := range got {
			hs = append(hs, mv.Start, mv.End, mv.Start-1, mv.End+1)
		}
		for _, h := range hs {
			from, to := a.LocateHash(h), b.LocateHash(h)
			mv, ok := FindMove(got, h)
			if ok != (from != to) || (ok && (mv.From != from || mv.To != to)) {
				t.Fatalf("h=%x: old %q new %q, FindMove = %v %v", h, from, to, mv, ok)
			}
		}
	})
}
