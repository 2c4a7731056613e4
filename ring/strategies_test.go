package ring

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/placerhq/placer/internal/poll"
)

// modelBounded is the naive reference for Bounded: partitions in order, each
// walking the model ring from the owner of its midpoint to the first member
// below its capacity.
func modelBounded(cfg BoundedConfig, ms []Member) []string {
	m := newModel(cfg.Ring, ms)
	w := m.winners()
	if len(w) == 0 {
		return nil
	}
	p := 1 << cfg.PartitionBits
	owning := map[string]bool{}
	for _, pt := range w {
		owning[pt.name] = true
	}
	total := 0
	for _, mb := range ms {
		if owning[mb.Name] {
			total += mb.Weight
		}
	}
	capOf := modelCapacities(cfg, ms, owning, total)
	loads := map[string]int{}
	out := make([]string, p)
	shift := 64 - cfg.PartitionBits
	for i := range out {
		mid := uint64(i)<<shift | 1<<(shift-1)
		j := m.ownerIndex(mid)
		for loads[w[j].name] >= capOf[w[j].name] {
			j = (j + 1) % len(w)
		}
		loads[w[j].name]++
		out[i] = w[j].name
	}
	return out
}

// modelCapacities: floor(c × P × w / W) each; while they sum to less than P,
// one more for the member with the largest remainder not yet topped up
// (ties: the smaller name), cycling if every member was topped up.
func modelCapacities(cfg BoundedConfig, ms []Member, owning map[string]bool, total int) map[string]int {
	p := 1 << cfg.PartitionBits
	capOf, rem := map[string]int{}, map[string]int{}
	var names []string
	sum := 0
	for _, mb := range ms {
		if !owning[mb.Name] {
			continue
		}
		num := int(cfg.loadMillionths()) * p * mb.Weight
		den := loadScale * total
		capOf[mb.Name], rem[mb.Name] = num/den, num%den
		sum += num / den
		names = append(names, mb.Name)
	}
	slices.Sort(names)
	for given := map[string]bool{}; sum < p; sum++ {
		best := ""
		for _, n := range names {
			if !given[n] && (best == "" || rem[n] > rem[best]) {
				best = n
			}
		}
		if best == "" { // everyone had one more: start another round
			clear(given)
			sum--
			continue
		}
		given[best] = true
		capOf[best]++
	}
	return capOf
}

func genBoundedConfig(t *rapid.T) BoundedConfig {
	return BoundedConfig{
		Ring:          genConfig(t),
		LoadFactor:    rapid.SampledFrom([]float64{1.01, 1.05, 1.25, 2}).Draw(t, "c"),
		PartitionBits: rapid.IntRange(1, 9).Draw(t, "pbits"),
	}
}

func TestPropBoundedMatchesModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cfg := genBoundedConfig(t)
		ms := genMembers(t, 0, 8)
		b, err := NewBounded(cfg, ms...)
		if err != nil {
			t.Fatal(err)
		}
		want := modelBounded(cfg, ms)
		shift := 64 - cfg.PartitionBits
		for p := 0; p < b.Partitions(); p++ {
			h := uint64(p)<<shift | uint64(rapid.Uint64().Draw(t, "low"))>>cfg.PartitionBits
			got := b.LocateHash(h)
			if (want == nil && got != "") || (want != nil && got != want[p]) {
				t.Fatalf("partition %d: got %q, model %v", p, got, want)
			}
		}
		caps := b.capacities()
		for name, load := range b.PartitionLoads() {
			i, _ := findMember(b.ring.members, name)
			if c := caps[b.ring.mslot[i]]; int32(load) > c {
				t.Fatalf("%s holds %d partitions, capacity %d", name, load, c)
			}
		}
	})
}

// Bounded.Apply gives the same strategy as NewBounded, and its Diff is exact.
func TestPropBoundedApplyAndDiff(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cfg := genBoundedConfig(t)
		ms := genMembers(t, 1, 8)
		a, err := NewBounded(cfg, ms[:len(ms)-1]...)
		if err != nil {
			t.Fatal(err)
		}
		b, err := a.Apply(AddChange(ms[len(ms)-1]))
		if err != nil {
			t.Fatal(err)
		}
		fresh, _ := NewBounded(cfg, ms...)
		if b.Checksum() != fresh.Checksum() || !slices.Equal(b.owner, remapOwners(fresh, b)) {
			t.Fatal("Apply differs from NewBounded")
		}
		moves, err := DiffStrategies(a, b)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range rapid.SliceOfN(rapid.Uint64(), 1, 50).Draw(t, "hashes") {
			from, to := a.LocateHash(h), b.LocateHash(h)
			mv, ok := FindMove(moves, h)
			if ok != (from != to) || (ok && (mv.From != from || mv.To != to)) {
				t.Fatalf("h=%x: %q -> %q, FindMove %v %v", h, from, to, mv, ok)
			}
		}
	})
}

// remapOwners expresses x's owner table in y's slot numbers.
func remapOwners(x, y *Bounded) []uint32 {
	out := make([]uint32, len(x.owner))
	for p, s := range x.owner {
		i, _ := findMember(y.ring.members, x.ring.names[s])
		out[p] = y.ring.mslot[i]
	}
	return out
}

func TestBoundedPeakWithinLoadFactor(t *testing.T) {
	for _, c := range []float64{1.05, 1.25} {
		cfg := DefaultBoundedConfig()
		cfg.LoadFactor = c
		b, err := NewBounded(cfg, members(50)...)
		if err != nil {
			t.Fatal(err)
		}
		avg := float64(b.Partitions()) / 50
		for name, load := range b.PartitionLoads() {
			if float64(load) > c*avg+1 {
				t.Errorf("c=%v: %s holds %d partitions, average %.1f", c, name, load, avg)
			}
		}
	}
}

func TestEmptyRingLocatesNothing(t *testing.T) {
	r := mustNew(t, DefaultConfig())
	if r.LocateString("k") != "" || r.LocateN([]byte("k"), 3) != nil || r.Len() != 0 {
		t.Fatal("empty ring must locate nothing")
	}
	if got := r.AppendLocateN([]string{"x"}, []byte("k"), 2); !slices.Equal(got, []string{"x"}) {
		t.Fatalf("AppendLocateN on empty ring = %v", got)
	}
	b, _ := NewBounded(DefaultBoundedConfig())
	if b.LocateString("k") != "" || b.LocateN([]byte("k"), 1) != nil {
		t.Fatal("empty bounded must locate nothing")
	}
	moves := Diff(r, mustNew(t, DefaultConfig(), Member{"a", 1}))
	if len(moves) != 1 || moves[0] != (Move{Start: 0, End: ^uint64(0), From: "", To: "a"}) {
		t.Fatalf("Diff(empty, {a}) = %v", moves)
	}
	if _, err := DiffStrategies(r, otherStrategy{r}); !errors.Is(err, ErrNoRanges) {
		t.Fatalf("DiffStrategies(ring, a strategy of another package): %v", err)
	}
	if _, err := Shares(otherStrategy{r}); !errors.Is(err, ErrNoRanges) {
		t.Fatalf("Shares(a strategy of another package): %v", err)
	}
}

// otherStrategy stands for a Strategy implemented outside this package.
type otherStrategy struct{ *Ring }

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		f    func() error
	}{
		{"vnodes -1", ErrBadConfig, func() error { _, err := New(Config{VNodes: -1}); return err }},
		{"vnodes too many", ErrBadConfig, func() error { _, err := New(Config{VNodes: MaxVNodes + 1}); return err }},
		{"empty name", ErrBadName, func() error { _, err := New(DefaultConfig(), Member{"", 1}); return err }},
		{"long name", ErrBadName, func() error {
			_, err := New(DefaultConfig(), Member{string(make([]byte, MaxNameLen+1)), 1})
			return err
		}},
		{"weight 0", ErrBadWeight, func() error { _, err := New(DefaultConfig(), Member{"a", 0}); return err }},
		{"weight huge", ErrBadWeight, func() error { _, err := New(DefaultConfig(), Member{"a", MaxWeight + 1}); return err }},
		{"duplicate", ErrDuplicate, func() error { _, err := New(DefaultConfig(), Member{"a", 1}, Member{"a", 2}); return err }},
		{"too many points", ErrTooLarge, func() error {
			_, err := New(Config{VNodes: MaxVNodes}, Member{"a", MaxWeight})
			return err
		}},
		{"bad op", ErrBadChange, func() error {
			_, err := mustNew(t, DefaultConfig()).Apply(Change{Op: 9, Member: Member{"a", 1}})
			return err
		}},
		{"load factor 1", ErrBadConfig, func() error {
			cfg := DefaultBoundedConfig()
			cfg.LoadFactor = 1
			_, err := NewBounded(cfg)
			return err
		}},
		{"partition bits", ErrBadConfig, func() error {
			cfg := DefaultBoundedConfig()
			cfg.PartitionBits = 30
			_, err := NewBounded(cfg)
			return err
		}},
	} {
		if err := tc.f(); !errors.Is(err, tc.err) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.err)
		}
	}
}

// Readers keep locating through a Holder while writers swap snapshots;
// -race checks the lack of locks, the assertions check every reader sees a
// complete snapshot.
func TestHolderConcurrent(t *testing.T) {
	cfg := Config{VNodes: 64}
	h := NewHolder(mustNew(t, cfg, members(4)...))
	var stop atomic.Bool
	var wg sync.WaitGroup
	var reads atomic.Int64
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				s := h.Load()
				owner := s.LocateString(fmt.Sprint(i))
				if owner == "" || !s.Has(owner) {
					t.Errorf("owner %q not in its own snapshot", owner)
					return
				}
				reads.Add(1)
			}
		}()
	}
	var updates atomic.Int64
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				name := fmt.Sprintf("extra-%d-%d", w, i)
				if _, err := h.Update(func(cur Strategy) (Strategy, error) { return cur.With(AddChange(Member{name, 1})) }); err != nil {
					t.Error(err)
					return
				}
				updates.Add(1)
			}
		}()
	}
	waitFor(t, 30*time.Second, func() bool { return updates.Load() == 100 && reads.Load() > 100 })
	stop.Store(true)
	wg.Wait()
	if got := h.Load().Len(); got != 104 {
		t.Fatalf("after 100 concurrent adds the holder has %d members, want 104 (an update was lost)", got)
	}
	if old := h.Swap(mustNew(t, cfg)); old.Len() != 104 || h.Load().Len() != 0 {
		t.Fatal("Swap")
	}
	var zero Holder
	if zero.Load() != nil {
		t.Fatal("zero Holder must hold nothing")
	}
	if _, err := h.Update(func(Strategy) (Strategy, error) { return nil, ErrBadChange }); !errors.Is(err, ErrBadChange) {
		t.Fatal("Update must return fn's error")
	}
	if _, err := h.Update(func(Strategy) (Strategy, error) { return nil, nil }); !errors.Is(err, ErrNilStrategy) {
		t.Fatalf("Update storing nil: %v", err)
	}
}

// waitFor polls cond until it holds or the timeout passes (internal/poll).
func waitFor(t *testing.T, timeout time.Duration, cond func() bool) {
	t.Helper()
	poll.CheckFor(t, timeout, poll.Cond(cond, func() string { return "condition not met" }))
}

// The helpers for strategies implemented elsewhere agree with the package's
// own rules.
func TestHelpersForOtherStrategies(t *testing.T) {
	r := mustNew(t, Config{VNodes: 16}, Member{"b", 2}, Member{"a", 1})
	if got := StrategyChecksum("ring", r.Members(), 16, 0); got != r.Checksum() {
		t.Fatalf("StrategyChecksum %x, Checksum %x", got, r.Checksum())
	}
	ms, err := MemberSet(Member{"b", 2}, Member{"a", 1})
	if err != nil || !slices.Equal(ms, r.Members()) {
		t.Fatalf("MemberSet = %v, %v", ms, err)
	}
	if _, err := MemberSet(Member{"a", 1}, Member{"a", 1}); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("duplicate: %v", err)
	}
	next, err := ApplyChanges(ms, AddChange(Member{"c", 1}), RemoveChange("a"))
	if err != nil || !slices.Equal(next, []Member{{"b", 2}, {"c", 1}}) || len(ms) != 2 {
		t.Fatalf("ApplyChanges = %v, %v (input now %v)", next, err, ms)
	}
	if _, err := ApplyChanges(ms, SetWeightChange("zz", 1)); !errors.Is(err, ErrUnknownMember) {
		t.Fatalf("unknown: %v", err)
	}
}

// TestZeroConfigMeansDefaults: a zero Config or BoundedConfig builds the
// same ring as the defaults (same checksum, same config).
func TestZeroConfigMeansDefaults(t *testing.T) {
	ms := []Member{{"a", 1}, {"b", 2}, {"c", 1}}
	zr, err := New(Config{}, ms...)
	if err != nil {
		t.Fatal(err)
	}
	dr, _ := New(DefaultConfig(), ms...)
	if zr.Checksum() != dr.Checksum() || zr.Config() != dr.Config() {
		t.Fatalf("zero config: %+v, default: %+v", zr.Config(), dr.Config())
	}
	zb, err := NewBounded(BoundedConfig{}, ms...)
	if err != nil {
		t.Fatal(err)
	}
	db, _ := NewBounded(DefaultBoundedConfig(), ms...)
	if zb.Checksum() != db.Checksum() || zb.Config() != db.Config() {
		t.Fatalf("zero bounded config: %+v, default: %+v", zb.Config(), db.Config())
	}
}
