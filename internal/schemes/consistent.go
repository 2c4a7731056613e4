package schemes

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/buraksezer/consistent"
	"github.com/cespare/xxhash/v2"

	"github.com/placerhq/placer/ring"
)

// ConsistentConfig configures the buraksezer/consistent v0.10.0 strategy.
// Zero values: a zero field means its documented default; NewConsistent
// rejects any other value out of range with ring.ErrBadConfig.
type ConsistentConfig struct {
	// PartitionCount is the number of partitions keys are hashed into
	// (key hash mod PartitionCount). Default 7919. More partitions balance
	// better but make every rebuild slower (each rebuild places every
	// partition again). Range 1..1<<24.
	PartitionCount int
	// ReplicationFactor is the number of points per member on the
	// library's ring. Default 20. Range 1..1<<16.
	ReplicationFactor int
	// Load is the bound c on a member's partitions, as a multiple of the
	// average. Default 1.25. Must be > 1 and ≤ 100. Lower is more even
	// but moves more partitions on every change, and can make the library
	// unable to place every partition (reported as ErrNoRoom).
	Load float64
}

// DefaultConsistentConfig returns PartitionCount 7919, ReplicationFactor 20,
// Load 1.25.
func DefaultConsistentConfig() ConsistentConfig {
	return ConsistentConfig{PartitionCount: 7919, ReplicationFactor: 20, Load: 1.25}
}

func (c ConsistentConfig) validate() error {
	switch {
	case c.PartitionCount < 1 || c.PartitionCount > 1<<24:
		return fmt.Errorf("%w: PartitionCount %d", ring.ErrBadConfig, c.PartitionCount)
	case c.ReplicationFactor < 1 || c.ReplicationFactor > 1<<16:
		return fmt.Errorf("%w: ReplicationFactor %d", ring.ErrBadConfig, c.ReplicationFactor)
	case !(c.Load > 1 && c.Load <= 100):
		return fmt.Errorf("%w: Load %v not in (1, 100]", ring.ErrBadConfig, c.Load)
	}
	return nil
}

// Consistent adapts github.com/buraksezer/consistent v0.10.0 (bounded loads
// over hashed partitions, with the same XXH64 hasher) to ring.Strategy, for
// comparison. Member weights must be 1. The library panics on some states a
// live cluster can reach; every call into it here recovers, and such a state
// is returned as ErrNoRoom (or ErrPanic for any other panic). A Consistent is
// immutable: With builds a new library instance from the full member list.
type Consistent struct {
	cfg     ConsistentConfig
	members []ring.Member
	c       *consistent.Consistent // nil when there are no members
	sum     uint64
}

type xxhasher struct{}

// Sum64 implements consistent.Hasher with XXH64.
func (xxhasher) Sum64(b []byte) uint64 { return xxhash.Sum64(b) }

type cmember string

// String implements consistent.Member.
func (m cmember) String() string { return string(m) }

// NewConsistent returns a Consistent over members.
func NewConsistent(cfg ConsistentConfig, members ...ring.Member) (*Consistent, error) {
	d := DefaultConsistentConfig()
	cfg.PartitionCount = cmp.Or(cfg.PartitionCount, d.PartitionCount)
	cfg.ReplicationFactor = cmp.Or(cfg.ReplicationFactor, d.ReplicationFactor)
	cfg.Load = cmp.Or(cfg.Load, d.Load)
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	ms, err := ring.MemberSet(members...)
	if err != nil {
		return nil, err
	}
	return newConsistent(cfg, ms)
}

func newConsistent(cfg ConsistentConfig, ms []ring.Member) (*Consistent, error) {
	for _, m := range ms {
		if m.Weight != 1 {
			return nil, fmt.Errorf("%w: member %q weight %d: consistent supports weight 1 only", ring.ErrBadWeight, m.Name, m.Weight)
		}
	}
	c := &Consistent{cfg: cfg, members: ms}
	c.sum = ring.StrategyChecksum("consistent", ms, uint64(cfg.PartitionCount), uint64(cfg.ReplicationFactor), uint64(math.Round(cfg.Load*1e6)))
	if len(ms) == 0 {
		return c, nil
	}
	lib := make([]consistent.Member, len(ms))
	for i, m := range ms {
		lib[i] = cmember(m.Name)
	}
	err := guard(func() {
		c.c = consistent.New(lib, consistent.Config{
			PartitionCount: cfg.PartitionCount, ReplicationFactor: cfg.ReplicationFactor,
			Load: cfg.Load, Hasher: xxhasher{},
		})
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// guard runs fn and turns a panic into an error.
func guard(fn func()) (err error) {
	defer func() {
		if p := recover(); p != nil {
			msg := fmt.Sprint(p)
			if strings.Contains(msg, "not enough room") {
				err = fmt.Errorf("%w: buraksezer/consistent: %s", ErrNoRoom, msg)
				return
			}
			err = fmt.Errorf("%w: buraksezer/consistent: %s", ErrPanic, msg)
		}
	}()
	fn()
	return nil
}

// Name returns "consistent".
func (c *Consistent) Name() string { return "consistent" }

// Config returns the configuration.
func (c *Consistent) Config() ConsistentConfig { return c.cfg }

// Locate returns the owner of key, or "" when there are no members.
func (c *Consistent) Locate(key []byte) string {
	if c.c == nil {
		return ""
	}
	var m consistent.Member
	if guard(func() { m = c.c.LocateKey(key) }) != nil || m == nil {
		return ""
	}
	return m.String()
}

// LocateHash returns the owner of the key hash h (= ring.Hash(key)): the owner of
// partition h mod PartitionCount.
func (c *Consistent) LocateHash(h uint64) string {
	if c.c == nil {
		return ""
	}
	var m consistent.Member
	if guard(func() { m = c.c.GetPartitionOwner(int(h % uint64(c.cfg.PartitionCount))) }) != nil || m == nil {
		return ""
	}
	return m.String()
}

// LocateString is Locate for a string key (it copies the key: the library
// takes a byte slice through an interface).
func (c *Consistent) LocateString(key string) string { return c.Locate([]byte(key)) }

// LocateN returns up to n members from the library's GetClosestN.
func (c *Consistent) LocateN(key []byte, n int) []string {
	return c.AppendLocateN(nil, key, n)
}

// AppendLocateN appends LocateN(key, n) to dst.
func (c *Consistent) AppendLocateN(dst []string, key []byte, n int) []string {
	if n < 1 || c.c == nil {
		return dst
	}
	var ms []consistent.Member
	err := guard(func() { ms, _ = c.c.GetClosestN(key, min(n, len(c.members))) })
	if err != nil {
		return dst
	}
	for _, m := range ms {
		dst = append(dst, m.String())
	}
	return dst
}

// Members returns the members sorted by name.
func (c *Consistent) Members() []ring.Member { return slices.Clone(c.members) }

// Len returns the number of members.
func (c *Consistent) Len() int { return len(c.members) }

// Has reports whether the named member is present.
func (c *Consistent) Has(name string) bool {
	return hasMember(c.members, name)
}

// Checksum digests "consistent", the configuration and the member set.
func (c *Consistent) Checksum() uint64 { return c.sum }

// With returns a Consistent with changes applied (a full rebuild).
func (c *Consistent) With(changes ...ring.Change) (ring.Strategy, error) {
	ms, err := ring.ApplyChanges(c.members, changes...)
	if err != nil {
		return nil, err
	}
	return newConsistent(c.cfg, ms)
}
