package bench

import (
	"fmt"
	"time"

	"github.com/buraksezer/consistent"

	"github.com/placerhq/placer/internal/schemes"
	"github.com/placerhq/placer/ring"
)

// churnTracker follows one scheme through a scenario and reports, for each
// event, every key whose owner changed, without relocating every key when
// the scheme has a cheaper exact way: the hash ranges that changed owner
// (ring, bounded), the table entries that did (maglev, consistent, modulo's
// table), or a per-key check against the changed members only (jump,
// rendezvous, multi-probe).
type churnTracker interface {
	// start places the keys over ms, each as t.move(-1, owner, ...).
	start(ms []ring.Member, t *tally) error
	// apply applies one event's changes (at once) and reports every move.
	apply(cs []ring.Change, t *tally) error
	// locate places a key, for lookup timing.
	locate(key []byte) string
}

// since adds the time since t0 to the tally's rebuild time.
func (t *tally) since(t0 time.Time) { t.rebuildNs += time.Since(t0).Nanoseconds() }

// moveRanges reports the moves of a diff, counted in the sorted key hashes.
func moveRanges(moves []ring.Move, ks *keySet, reg *registry, t *tally) {
	for _, m := range moves {
		if keys, bytes := ks.count(m.Start, m.End); keys > 0 {
			t.move(reg.of(m.From), reg.of(m.To), keys, bytes)
		}
	}
}

// ---- ring: ring.Diff of the two snapshots ----

type ringTracker struct {
	cfg ring.Config
	r   *ring.Ring
	ks  *keySet
	reg *registry
}

func (x *ringTracker) start(ms []ring.Member, t *tally) error {
	empty, err := ring.New(x.cfg)
	if err != nil {
		return err
	}
	x.r = empty
	return x.add(ms, t)
}

func (x *ringTracker) add(ms []ring.Member, t *tally) error {
	cs := make([]ring.Change, len(ms))
	for i, m := range ms {
		cs[i] = ring.AddChange(m)
	}
	return x.apply(cs, t)
}

func (x *ringTracker) apply(cs []ring.Change, t *tally) error {
	t0 := time.Now()
	n, err := x.r.Apply(cs...)
	if err != nil {
		return err
	}
	t.since(t0)
	moveRanges(ring.Diff(x.r, n), x.ks, x.reg, t)
	x.r = n
	return nil
}

func (x *ringTracker) locate(key []byte) string { return x.r.Locate(key) }

// ---- bounded: ring.DiffStrategies (the partition table as ranges) ----

type boundedTracker struct {
	cfg ring.BoundedConfig
	b   *ring.Bounded
	ks  *keySet
	reg *registry
}

func (x *boundedTracker) start(ms []ring.Member, t *tally) error {
	b, err := ring.NewBounded(x.cfg)
	if err != nil {
		return err
	}
	x.b = b
	cs := make([]ring.Change, len(ms))
	for i, m := range ms {
		cs[i] = ring.AddChange(m)
	}
	return x.apply(cs, t)
}

func (x *boundedTracker) apply(cs []ring.Change, t *tally) error {
	t0 := time.Now()
	n, err := x.b.Apply(cs...)
	if err != nil {
		return err
	}
	t.since(t0)
	moves, err := ring.DiffStrategies(x.b, n)
	if err != nil {
		return err
	}
	moveRanges(moves, x.ks, x.reg, t)
	x.b = n
	return nil
}

func (x *boundedTracker) locate(key []byte) string { return x.b.Locate(key) }

// ---- tables: a key hash h belongs to entry h mod len(table) ----

// tableCounts holds the keys and bytes of each table entry; diff reports
// the entries whose owner changed.
type tableCounts struct{ keys, bytes []int64 }

func (tc tableCounts) diff(old, new []int32, t *tally) {
	for e := range new {
		if old == nil {
			t.move(-1, new[e], tc.keys[e], tc.bytes[e])
		} else if old[e] != new[e] {
			t.move(old[e], new[e], tc.keys[e], tc.bytes[e])
		}
	}
}

// ---- maglev: its lookup table, entry by entry ----

type maglevTracker struct {
	cfg   schemes.MaglevConfig
	m     *schemes.Maglev
	table []int32 // entry -> member number
	tc    tableCounts
	ks    *keySet
	reg   *registry
}

func (x *maglevTracker) start(ms []ring.Member, t *tally) error {
	m, err := schemes.NewMaglev(x.cfg, ms...)
	if err != nil {
		return err
	}
	x.tc.keys, x.tc.bytes = x.ks.groups(x.cfg.TableSize)
	x.set(m, t)
	return nil
}

func (x *maglevTracker) set(m *schemes.Maglev, t *tally) {
	table := make([]int32, x.cfg.TableSize)
	for e, name := range m.Table() {
		table[e] = x.reg.of(name)
	}
	x.tc.diff(x.table, table, t)
	x.m, x.table = m, table
}

func (x *maglevTracker) apply(cs []ring.Change, t *tally) error {
	t0 := time.Now()
	n, err := x.m.With(cs...)
	if err != nil {
		return err
	}
	t.since(t0)
	x.set(n.(*schemes.Maglev), t)
	return nil
}

func (x *maglevTracker) locate(key []byte) string { return x.m.Locate(key) }

// ---- buraksezer/consistent: its partition table, used directly (the
// library updates in place; a fresh build at 1000 members takes 0.5 s) ----

type consistentTracker struct {
	cfg    schemes.ConsistentConfig
	c      *consistent.Consistent
	owners []int32 // partition -> member number
	tc     tableCounts
	ks     *keySet
	reg    *registry
}

func (x *consistentTracker) start(ms []ring.Member, t *tally) error {
	lib := make([]consistent.Member, len(ms))
	for i, m := range ms {
		if m.Weight != 1 {
			return fmt.Errorf("%w: buraksezer/consistent has no weights (%s has %d)", errUnsupported, m.Name, m.Weight)
		}
		lib[i] = consistentMember(m.Name)
	}
	err := guardConsistent(func() {
		x.c = consistent.New(lib, consistent.Config{PartitionCount: x.cfg.PartitionCount,
			ReplicationFactor: x.cfg.ReplicationFactor, Load: x.cfg.Load, Hasher: consistentHasher{}})
	})
	if err != nil {
		return err
	}
	x.tc.keys, x.tc.bytes = x.ks.groups(x.cfg.PartitionCount)
	x.read(t)
	return nil
}

// read compares the library's partition owners with the last ones read.
func (x *consistentTracker) read(t *tally) {
	owners := make([]int32, x.cfg.PartitionCount)
	for p := range owners {
		owners[p] = x.reg.of(x.c.GetPartitionOwner(p).String())
	}
	x.tc.diff(x.owners, owners, t)
	x.owners = owners
}

func (x *consistentTracker) apply(cs []ring.Change, t *tally) error {
	t0 := time.Now()
	for _, c := range cs {
		if c.Op != ring.OpRemove && c.Member.Weight != 1 {
			return fmt.Errorf("%w: buraksezer/consistent has no weights", errUnsupported)
		}
		var err error
		switch c.Op {
		case ring.OpAdd:
			err = guardConsistent(func() { x.c.Add(consistentMember(c.Member.Name)) })
		case ring.OpRemove:
			err = guardConsistent(func() { x.c.Remove(c.Member.Name) })
		}
		if err != nil {
			return err
		}
	}
	t.since(t0)
	x.read(t)
	return nil
}

func (x *consistentTracker) locate(key []byte) string { return x.c.LocateKey(key).String() }

// ---- modulo: the two tables, key by key (no ranges: h mod n) ----

type moduloTracker struct {
	m     *schemes.Modulo
	table []int32
	ks    *keySet
	reg   *registry
}

func (x *moduloTracker) start(ms []ring.Member, t *tally) error {
	m, err := schemes.NewModulo(ms...)
	if err != nil {
		return err
	}
	x.set(m, t)
	return nil
}

func (x *moduloTracker) set(m *schemes.Modulo, t *tally) {
	names := m.Table()
	table := make([]int32, len(names))
	for i, name := range names {
		table[i] = x.reg.of(name)
	}
	old, n1, n2 := x.table, uint64(len(x.table)), uint64(len(table))
	for i, h := range x.ks.hashes {
		if old == nil {
			t.move(-1, table[h%n2], 1, x.ks.keyBytes(i))
		} else if a, b := old[h%n1], table[h%n2]; a != b {
			t.move(a, b, 1, x.ks.keyBytes(i))
		}
	}
	x.m, x.table = m, table
}

func (x *moduloTracker) apply(cs []ring.Change, t *tally) error {
	t0 := time.Now()
	n, err := x.m.With(cs...)
	if err != nil {
		return err
	}
	t.since(t0)
	x.set(n.(*schemes.Modulo), t)
	return nil
}

func (x *moduloTracker) locate(key []byte) string { return x.m.Locate(key) }
