package ring

import "fmt"

// Limits on input. They keep a ring's memory bounded whatever a caller (or a
// gossiping peer) asks for.
const (
	// MaxNameLen is the longest member name, in bytes.
	MaxNameLen = 1024
	// MaxWeight is the largest member weight.
	MaxWeight = 4096
	// MaxVNodes is the largest Config.VNodes.
	MaxVNodes = 1 << 16
	// MaxPoints is the most virtual nodes (weight × VNodes summed over all
	// members) one ring may hold: 2^25 points are about 500 MB.
	MaxPoints = 1 << 25
)

// DefaultVNodes is the default number of virtual nodes per unit of weight.
//
// With the nearest-point rule (see the package documentation) a member's
// share of the hash space has a coefficient of variation of about
// 1/√(2V): 0.022 at V = 1024, so that the most loaded of 100 members holds
// about 1.06 × the average (1.10 is about four standard deviations away).
// Over 20 sets of member names (docs/bench-ring.md) the most loaded of 100
// members held at most 1.081 × the average over 1M keys at V = 1024, 1.094
// at V = 768, and more than 1.10 for 4 sets of 20 at V = 512. Memory, build
// and update time are linear in V.
const DefaultVNodes = 1024

// Config configures a vnode Ring. Start from DefaultConfig (or a zero
// Config).
//
// Zero values: a zero field means its documented default; New rejects any
// other value out of range with an error wrapping ErrBadConfig.
type Config struct {
	// VNodes is the number of virtual nodes (points on the ring) per unit
	// of member weight: a member of weight w owns w×VNodes points.
	// Default (0) DefaultVNodes (1024); range 1..MaxVNodes. More points give
	// a more even split (spread ≈ 1/√(2×VNodes)) at a linear cost in
	// memory (about 15 bytes per point), build and Add/Remove time; lookup
	// time depends on it only through the memory the ring takes (how much
	// of it the CPU caches hold). Every member of a cluster must use the
	// same value: it is part of the Checksum.
	VNodes int

	// posBits, when non-zero, keeps only the top posBits bits of every
	// point position. Tests use it to force position collisions; it is
	// unexported because it changes the compatibility promise.
	posBits uint8
	// leafTarget, when non-zero, replaces the most points per leaf a build
	// aims for. Tests use it to build leaves of hundreds of points.
	leafTarget int
	// bucketRatio, when non-zero, replaces bucketsPerPoint. Tests use it
	// to force crowded buckets (most lookups on the exact path).
	bucketRatio float64
	// noResolve makes every header word send its keys down the exact
	// path, as in a ring with more than 2^16 slots. Tests use it.
	noResolve bool
}

// DefaultConfig returns the recommended configuration.
func DefaultConfig() Config {
	return Config{VNodes: DefaultVNodes}
}

// withDefaults returns c with its zero fields set to their defaults.
func (c Config) withDefaults() Config {
	if c.VNodes == 0 {
		c.VNodes = DefaultVNodes
	}
	return c
}

func (c Config) validate() error {
	if c.VNodes < 1 || c.VNodes > MaxVNodes {
		return fmt.Errorf("%w: VNodes %d not in 1..%d", ErrBadConfig, c.VNodes, MaxVNodes)
	}
	if c.posBits > 64 {
		return fmt.Errorf("%w: posBits %d", ErrBadConfig, c.posBits)
	}
	return nil
}

// posMask returns the mask applied to every point position.
func (c Config) posMask() uint64 {
	if c.posBits == 0 || c.posBits >= 64 {
		return ^uint64(0)
	}
	return ^uint64(0) << (64 - c.posBits)
}
