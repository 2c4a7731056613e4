package placement

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/placerhq/placer/ring"
)

// Strategies a cluster can place keys with (Config.Strategy).
const (
	// StrategyRing is the vnode ring: a key's owner is the member of the
	// first virtual node clockwise of its hash. Exact ring semantics, the
	// least movement on a change; lookups slow as the ring outgrows the
	// CPU caches (docs/benchmarks.md).
	StrategyRing = "ring"
	// StrategyBounded is consistent hashing with bounded loads over fixed
	// partitions (ring.Bounded): no member holds more than LoadFactor
	// times its share, lookups are one table read at any size, and a
	// change moves a little more than the ring does.
	StrategyBounded = "bounded"
)

// strategySpec is what every member must agree on to place keys alike:
// the strategy and its parameters. It is gossiped in the member's tags as
// its text form, e.g. "ring/v1024" or "bounded/v1024/c1.25/p16".
type strategySpec struct {
	name       string
	vnodes     int
	loadFactor float64 // bounded only
	partBits   int     // bounded only
}

// tagStrategy is the membership tag carrying a member's strategySpec.
const tagStrategy = "placement.strategy"

// specOf is the spec a config asks for.
func specOf(c *Config) strategySpec {
	s := strategySpec{name: c.Strategy, vnodes: c.VNodes}
	if s.name == StrategyBounded {
		s.loadFactor, s.partBits = c.LoadFactor, c.PartitionBits
	}
	return s
}

// String is the spec's tag form.
func (s strategySpec) String() string {
	if s.name == StrategyBounded {
		return fmt.Sprintf("%s/v%d/c%s/p%d", s.name, s.vnodes, strconv.FormatFloat(s.loadFactor, 'f', -1, 64), s.partBits)
	}
	return fmt.Sprintf("%s/v%d", s.name, s.vnodes)
}

// parseSpec reads a spec's tag form; the spec must also build (its
// parameters in range).
func parseSpec(text string) (strategySpec, error) {
	parts := strings.Split(text, "/")
	s := strategySpec{name: parts[0]}
	var err error
	switch {
	case s.name == StrategyRing && len(parts) == 2:
		s.vnodes, err = specInt(parts[1], "v")
	case s.name == StrategyBounded && len(parts) == 4:
		s.vnodes, err = specInt(parts[1], "v")
		if err == nil {
			s.loadFactor, err = specFloat(parts[2], "c")
		}
		if err == nil {
			s.partBits, err = specInt(parts[3], "p")
		}
	default:
		err = fmt.Errorf("%w: strategy %q", ErrBadConfig, text)
	}
	if err == nil {
		err = s.validate()
	}
	return s, err
}

// validate checks the parameters' ranges (those ring.New and
// ring.NewBounded accept).
func (s strategySpec) validate() error {
	switch {
	case s.vnodes < 1 || s.vnodes > ring.MaxVNodes:
		return fmt.Errorf("%w: VNodes %d not in 1..%d", ErrBadConfig, s.vnodes, ring.MaxVNodes)
	case s.name == StrategyRing:
		return nil
	case s.name != StrategyBounded:
		return fmt.Errorf("%w: Strategy %q (want %q or %q)", ErrBadConfig, s.name, StrategyRing, StrategyBounded)
	case !(s.loadFactor > 1 && s.loadFactor <= 10) || math.Round(s.loadFactor*1e6) <= 1e6:
		return fmt.Errorf("%w: LoadFactor %v not in (1, 10]", ErrBadConfig, s.loadFactor)
	case s.partBits < 1 || s.partBits > 22:
		return fmt.Errorf("%w: PartitionBits %d not in 1..22", ErrBadConfig, s.partBits)
	}
	return nil
}

func specInt(field, prefix string) (int, error) {
	v, ok := strings.CutPrefix(field, prefix)
	n, err := strconv.Atoi(v)
	if !ok || err != nil {
		return 0, fmt.Errorf("%w: strategy field %q", ErrBadConfig, field)
	}
	return n, nil
}

func specFloat(field, prefix string) (float64, error) {
	v, ok := strings.CutPrefix(field, prefix)
	f, err := strconv.ParseFloat(v, 64)
	if !ok || err != nil || math.IsNaN(f) {
		return 0, fmt.Errorf("%w: strategy field %q", ErrBadConfig, field)
	}
	return f, nil
}

// build makes the strategy of members.
func (s strategySpec) build(members []ring.Member) (ring.Strategy, error) {
	rc := ring.DefaultConfig()
	rc.VNodes = s.vnodes
	switch s.name {
	case StrategyRing:
		return ring.New(rc, members...)
	case StrategyBounded:
		bc := ring.BoundedConfig{Ring: rc, LoadFactor: s.loadFactor, PartitionBits: s.partBits}
		return ring.NewBounded(bc, members...)
	}
	return nil, fmt.Errorf("%w: strategy %q", ErrBadConfig, s.name)
}

// clusterSpec chooses the spec the ring is built with from the alive
// members' specs: the one most members gossip, ties broken by the smaller
// text, so that every node that sees the same members chooses the same.
// Members without a spec (static views) count as having own. A member
// whose spec is not chosen is left out of the ring: it owns nothing, but it
// still routes with the chosen spec.
func clusterSpec(alive []memberInfo, own string) string {
	votes := map[string]int{}
	for _, m := range alive {
		s := m.strategy
		if s == "" {
			s = own
		}
		if s == own || validSpec(s) {
			votes[s]++
		}
	}
	best := own
	for s, n := range votes {
		if n > votes[best] || (n == votes[best] && s < best) {
			best = s
		}
	}
	return best
}

// validSpec reports whether a gossiped spec parses and builds.
func validSpec(text string) bool {
	_, err := parseSpec(text)
	return err == nil
}
