package bench

import (
	"fmt"
	"strings"

	"github.com/buraksezer/consistent"
	"github.com/cespare/xxhash/v2"

	"github.com/placerhq/placer/internal/schemes"
	"github.com/placerhq/placer/ring"
)

// strategyUnderTest is one strategy under test; builtStrategy is one
// instance of it.
type strategyUnderTest interface {
	name() string
	loadFactor() float64
	vnodesPerMember() int
	build(ms []ring.Member) (builtStrategy, error)
}

type builtStrategy interface {
	// lookups calls Locate on every key and returns the total length of
	// the names (so that the calls cannot be optimized away).
	lookups(keys [][]byte) int
	// addRemove adds m and removes it again.
	addRemove(m ring.Member) error
	// ownerOf returns the owner of a key hash.
	ownerOf(h uint64) string
	// variant returns the owner function after change, and a function
	// that undoes the change (for the mutable library).
	variant(c ring.Change) (owner func(uint64) string, undo func() error, err error)
	// strategy returns the ring strategy, or nil for the raw library.
	strategy() ring.Strategy
}

func ringSubjectList(o RingOptions) []strategyUnderTest {
	out := []strategyUnderTest{vnodeSubject{cfg: ring.Config{VNodes: o.VNodes}}}
	for _, c := range o.LoadFactors {
		cfg := ring.DefaultBoundedConfig()
		cfg.Ring.VNodes = o.VNodes
		cfg.LoadFactor = c
		out = append(out, boundedSubject{cfg: cfg})
	}
	return append(out, consistentSubject{cfg: schemes.DefaultConsistentConfig()}, moduloSubject{})
}

func ringNoUndo() error { return nil }

// ---- ring ----

type vnodeSubject struct{ cfg ring.Config }

func (s vnodeSubject) name() string         { return "ring" }
func (s vnodeSubject) loadFactor() float64  { return 0 }
func (s vnodeSubject) vnodesPerMember() int { return s.cfg.VNodes }
func (s vnodeSubject) build(ms []ring.Member) (builtStrategy, error) {
	r, err := ring.New(s.cfg, ms...)
	return builtVnode{r}, err
}

type builtVnode struct{ r *ring.Ring }

func (b builtVnode) lookups(keys [][]byte) int {
	n := 0
	for _, k := range keys {
		n += len(b.r.Locate(k))
	}
	return n
}

func (b builtVnode) addRemove(m ring.Member) error {
	r, err := b.r.Add(m)
	if err == nil {
		_, err = r.Remove(m.Name)
	}
	return err
}

func (b builtVnode) ownerOf(h uint64) string { return b.r.LocateHash(h) }
func (b builtVnode) strategy() ring.Strategy { return b.r }
func (b builtVnode) variant(c ring.Change) (func(uint64) string, func() error, error) {
	r, err := b.r.Apply(c)
	if err != nil {
		return nil, nil, err
	}
	return r.LocateHash, ringNoUndo, nil
}

// ---- bounded ----

type boundedSubject struct{ cfg ring.BoundedConfig }

func (s boundedSubject) name() string         { return "bounded" }
func (s boundedSubject) loadFactor() float64  { return s.cfg.LoadFactor }
func (s boundedSubject) vnodesPerMember() int { return s.cfg.Ring.VNodes }
func (s boundedSubject) build(ms []ring.Member) (builtStrategy, error) {
	b, err := ring.NewBounded(s.cfg, ms...)
	return builtBounded{b}, err
}

type builtBounded struct{ b *ring.Bounded }

func (b builtBounded) lookups(keys [][]byte) int {
	n := 0
	for _, k := range keys {
		n += len(b.b.Locate(k))
	}
	return n
}

func (b builtBounded) addRemove(m ring.Member) error {
	x, err := b.b.Apply(ring.AddChange(m))
	if err == nil {
		_, err = x.Apply(ring.RemoveChange(m.Name))
	}
	return err
}

func (b builtBounded) ownerOf(h uint64) string { return b.b.LocateHash(h) }
func (b builtBounded) strategy() ring.Strategy { return b.b }
func (b builtBounded) variant(c ring.Change) (func(uint64) string, func() error, error) {
	x, err := b.b.Apply(c)
	if err != nil {
		return nil, nil, err
	}
	return x.LocateHash, ringNoUndo, nil
}

// ---- modulo ----

type moduloSubject struct{}

func (moduloSubject) name() string         { return "modulo" }
func (moduloSubject) loadFactor() float64  { return 0 }
func (moduloSubject) vnodesPerMember() int { return 1 }
func (moduloSubject) build(ms []ring.Member) (builtStrategy, error) {
	m, err := schemes.NewModulo(ms...)
	return builtModulo{m}, err
}

type builtModulo struct{ m *schemes.Modulo }

func (b builtModulo) lookups(keys [][]byte) int {
	n := 0
	for _, k := range keys {
		n += len(b.m.Locate(k))
	}
	return n
}

func (b builtModulo) addRemove(m ring.Member) error {
	x, err := b.m.With(ring.AddChange(m))
	if err == nil {
		_, err = x.With(ring.RemoveChange(m.Name))
	}
	return err
}

func (b builtModulo) ownerOf(h uint64) string { return b.m.LocateHash(h) }
func (b builtModulo) strategy() ring.Strategy { return b.m }
func (b builtModulo) variant(c ring.Change) (func(uint64) string, func() error, error) {
	x, err := b.m.With(c)
	if err != nil {
		return nil, nil, err
	}
	return x.LocateHash, ringNoUndo, nil
}

// ---- buraksezer/consistent, used directly ----

type consistentSubject struct{ cfg schemes.ConsistentConfig }

type consistentHasher struct{}

// Sum64 implements consistent.Hasher with XXH64.
func (consistentHasher) Sum64(b []byte) uint64 { return xxhash.Sum64(b) }

type consistentMember string

// String implements consistent.Member.
func (m consistentMember) String() string { return string(m) }

func (s consistentSubject) name() string         { return "consistent" }
func (s consistentSubject) loadFactor() float64  { return s.cfg.Load }
func (s consistentSubject) vnodesPerMember() int { return s.cfg.ReplicationFactor }
func (s consistentSubject) build(ms []ring.Member) (builtStrategy, error) {
	lib := make([]consistent.Member, len(ms))
	for i, m := range ms {
		lib[i] = consistentMember(m.Name)
	}
	var c *consistent.Consistent
	err := guardConsistent(func() {
		c = consistent.New(lib, consistent.Config{
			PartitionCount: s.cfg.PartitionCount, ReplicationFactor: s.cfg.ReplicationFactor,
			Load: s.cfg.Load, Hasher: consistentHasher{},
		})
	})
	return builtConsistent{c: c, parts: uint64(s.cfg.PartitionCount)}, err
}

// guardConsistent runs fn and returns a panic as an error (the library panics with
// "not enough room to distribute partitions" on some member counts).
func guardConsistent(fn func()) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("buraksezer/consistent panicked: %v", p)
			if strings.Contains(fmt.Sprint(p), "not enough room") {
				err = fmt.Errorf("%w (%v)", schemes.ErrNoRoom, p)
			}
		}
	}()
	fn()
	return nil
}

type builtConsistent struct {
	c     *consistent.Consistent
	parts uint64
}

func (b builtConsistent) lookups(keys [][]byte) int {
	n := 0
	for _, k := range keys {
		if b.c.LocateKey(k) != nil {
			n++
		}
	}
	return n
}

func (b builtConsistent) addRemove(m ring.Member) error {
	return guardConsistent(func() {
		b.c.Add(consistentMember(m.Name))
		b.c.Remove(m.Name)
	})
}

func (b builtConsistent) ownerOf(h uint64) string {
	if m := b.c.GetPartitionOwner(int(h % b.parts)); m != nil {
		return m.String()
	}
	return ""
}

func (b builtConsistent) strategy() ring.Strategy { return nil }

func (b builtConsistent) variant(c ring.Change) (func(uint64) string, func() error, error) {
	switch c.Op {
	case ring.OpAdd:
		if err := guardConsistent(func() { b.c.Add(consistentMember(c.Member.Name)) }); err != nil {
			return nil, nil, err
		}
		return b.ownerOf, func() error { return guardConsistent(func() { b.c.Remove(c.Member.Name) }) }, nil
	case ring.OpRemove:
		if err := guardConsistent(func() { b.c.Remove(c.Member.Name) }); err != nil {
			return nil, nil, err
		}
		return b.ownerOf, func() error { return guardConsistent(func() { b.c.Add(consistentMember(c.Member.Name)) }) }, nil
	}
	return nil, nil, fmt.Errorf("%w: %v", ErrBadConfig, c.Op)
}
