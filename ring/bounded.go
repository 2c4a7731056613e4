package ring

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// BoundedConfig configures a Bounded strategy. Zero values: a zero field
// means its documented default; NewBounded rejects any other value out of
// range with an error wrapping ErrBadConfig.
type BoundedConfig struct {
	// Ring configures the vnode ring that orders the walk (VNodes).
	// Default DefaultConfig().
	Ring Config
	// LoadFactor is c = 1+ε: no member holds more than
	// floor(c × partitions × weight/total weight) partitions. Default 1.25;
	// range (1, 10], rounded to 6 decimals. Lower c evens the load but
	// moves more keys on every change (keys overflowing a full member
	// cascade to the next one).
	LoadFactor float64
	// PartitionBits: the hash space is cut into 2^PartitionBits equal
	// partitions (by the top bits of the key hash), the unit of balancing.
	// Default 16 (65536 partitions, 256 KiB of owner table). Range 1..22.
	// More partitions balance more finely (the granularity is members /
	// partitions) at a linear cost in memory and rebuild time.
	PartitionBits int
}

// DefaultBoundedConfig returns LoadFactor 1.25, PartitionBits 16 and the
// default ring.
func DefaultBoundedConfig() BoundedConfig {
	return BoundedConfig{Ring: DefaultConfig(), LoadFactor: 1.25, PartitionBits: 16}
}

const loadScale = 1_000_000 // LoadFactor is kept as an integer in millionths

// withDefaults returns c with its zero fields set to their defaults.
func (c BoundedConfig) withDefaults() BoundedConfig {
	d := DefaultBoundedConfig()
	c.Ring = c.Ring.withDefaults()
	if c.LoadFactor == 0 {
		c.LoadFactor = d.LoadFactor
	}
	if c.PartitionBits == 0 {
		c.PartitionBits = d.PartitionBits
	}
	return c
}

func (c BoundedConfig) validate() error {
	if err := c.Ring.validate(); err != nil {
		return err
	}
	if !(c.LoadFactor > 1 && c.LoadFactor <= 10) {
		return fmt.Errorf("%w: LoadFactor %v not in (1, 10]", ErrBadConfig, c.LoadFactor)
	}
	if c.loadMillionths() <= loadScale {
		return fmt.Errorf("%w: LoadFactor %v rounds to 1", ErrBadConfig, c.LoadFactor)
	}
	if c.PartitionBits < 1 || c.PartitionBits > 22 {
		return fmt.Errorf("%w: PartitionBits %d not in 1..22", ErrBadConfig, c.PartitionBits)
	}
	return nil
}

func (c BoundedConfig) loadMillionths() uint64 {
	return uint64(math.Round(c.LoadFactor * loadScale))
}

// Bounded is consistent hashing with bounded loads (Mirrokni, Thorup and
// Zadimoghaddam, 2018) over fixed partitions: the hash space is cut into
// 2^PartitionBits partitions; in partition order, each goes to the owner of
// its midpoint on the vnode ring, or, if that member is full, to the next
// member clockwise on the ring that is not. A member is full when it holds
// floor(c × partitions × weight / total weight) partitions (see
// capacities for the rare top-up). A lookup is one
// table read.
//
// A Bounded is immutable and safe for concurrent use.
type Bounded struct {
	cfg    BoundedConfig
	ring   *Ring
	owner  []uint32 // partition → ring slot
	pshift uint     // 64 - PartitionBits
	sum    uint64
}

// NewBounded returns a Bounded strategy over members.
func NewBounded(cfg BoundedConfig, members ...Member) (*Bounded, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	r, err := New(cfg.Ring, members...)
	if err != nil {
		return nil, err
	}
	return newBounded(cfg, r), nil
}

func newBounded(cfg BoundedConfig, r *Ring) *Bounded {
	b := &Bounded{cfg: cfg, ring: r, pshift: uint(64 - cfg.PartitionBits)}
	b.sum = checksum("bounded", r.members, uint64(cfg.Ring.VNodes), uint64(cfg.Ring.posBits),
		cfg.loadMillionths(), uint64(cfg.PartitionBits))
	if r.points > 0 {
		b.assign()
	}
	return b
}

// capacities returns the most partitions each slot may hold:
// floor(c × partitions × weight / W), W the total weight of the members that
// own at least one point, so that no member ever exceeds c times its share.
// Should the floors add up to fewer than the partitions (only when
// (c−1) × partitions < the member count), members get one more in order of
// the largest remainder (ties: member order, i.e. by name) until they cover
// every partition. (A member all of whose points collide with points of
// smaller names owns no point, cannot be reached by a walk, and gets no
// capacity; without position collisions every member owns points.)
func (b *Bounded) capacities() []int32 {
	r := b.ring
	hidden := make([]int, len(r.names))
	for _, sp := range r.shadow {
		hidden[sp.slot]++
	}
	reachable := func(i int) bool { return hidden[r.mslot[i]] < r.members[i].Weight*r.cfg.VNodes }
	total := 0
	for i, m := range r.members {
		if reachable(i) {
			total += m.Weight
		}
	}
	p := uint64(1) << b.cfg.PartitionBits
	den := uint64(loadScale) * uint64(total)
	caps := make([]int32, len(r.names))
	rem := make([]uint64, len(r.members))
	var sum uint64
	for i, m := range r.members {
		if reachable(i) {
			num := b.cfg.loadMillionths() * p * uint64(m.Weight)
			caps[r.mslot[i]] = int32(num / den)
			rem[i] = num % den
			sum += num / den
		}
	}
	topUp(caps, rem, r.mslot, reachable, p-min(sum, p))
	return caps
}

// topUp gives need members one more partition of capacity each, largest
// remainder first (ties: lower member index), skipping unreachable members.
func topUp(caps []int32, rem []uint64, mslot []uint32, reachable func(int) bool, need uint64) {
	order := make([]int, 0, len(rem))
	for i := range rem {
		if reachable(i) {
			order = append(order, i)
		}
	}
	if need == 0 || len(order) == 0 {
		return
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(rem[b], rem[a]) })
	for k := 0; need > 0; k, need = (k+1)%len(order), need-1 {
		caps[mslot[order[k]]]++
	}
}

// assign places every partition. The capacities of the members that own
// points add up to at least the partition count, so until the last
// partition is placed one of them is not full, and each walk ends within one
// turn of the ring.
func (b *Bounded) assign() {
	r := b.ring
	caps := b.capacities()
	loads := make([]int32, len(caps))
	b.owner = make([]uint32, 1<<b.cfg.PartitionBits)
	half := uint64(1) << (b.pshift - 1)
	for p := range b.owner {
		mid := uint64(p)<<b.pshift | half
		s := r.slotFor(mid)
		if loads[s] >= caps[s] {
			c := r.owner(mid)
			for steps := r.points - len(r.shadow); loads[c.slot()] >= caps[c.slot()]; steps-- {
				if steps == 0 {
					panic("ring: broken invariant: every member is full")
				}
				c.next()
			}
			s = c.slot()
		}
		loads[s]++
		b.owner[p] = uint32(s)
	}
}

// Name returns "bounded".
func (b *Bounded) Name() string { return "bounded" }

// Config returns the configuration.
func (b *Bounded) Config() BoundedConfig { return b.cfg }

// Ring returns the vnode ring that orders the walk.
func (b *Bounded) Ring() *Ring { return b.ring }

// Partitions returns the number of partitions.
func (b *Bounded) Partitions() int { return 1 << b.cfg.PartitionBits }

// PartitionLoads returns how many partitions each member holds.
func (b *Bounded) PartitionLoads() map[string]int {
	out := make(map[string]int, len(b.ring.members))
	for _, s := range b.owner {
		out[b.ring.names[s]]++
	}
	return out
}

// Locate returns the owner of key, or "" when there are no members.
func (b *Bounded) Locate(key []byte) string { return b.LocateHash(Hash(key)) }

// LocateString is Locate for a string key.
func (b *Bounded) LocateString(key string) string { return b.LocateHash(HashString(key)) }

// LocateHash returns the owner of the key hash h.
func (b *Bounded) LocateHash(h uint64) string {
	if len(b.owner) == 0 {
		return ""
	}
	return b.ring.names[b.owner[h>>b.pshift]]
}

// LocateN returns the owner of key, then the members that follow h on the
// vnode ring (as Ring.LocateN), without repeats: up to n distinct members.
func (b *Bounded) LocateN(key []byte, n int) []string {
	if n < 1 || len(b.owner) == 0 {
		return nil
	}
	return b.AppendLocateN(make([]string, 0, min(n, b.Len())), key, n)
}

// AppendLocateN appends LocateN(key, n) to dst. It does not allocate when
// dst has room and n ≤ 64.
func (b *Bounded) AppendLocateN(dst []string, key []byte, n int) []string {
	if n < 1 || len(b.owner) == 0 {
		return dst
	}
	r := b.ring
	n = min(n, len(r.members))
	h := Hash(key)
	first := uint64(b.owner[h>>b.pshift])
	dst = append(dst, r.names[first])
	seen := newSlotSet(n, len(r.names))
	seen.add(first)
	return r.appendWalk(dst, h, n-1, &seen)
}

// Members returns the members sorted by name.
func (b *Bounded) Members() []Member { return b.ring.Members() }

// Len returns the number of members.
func (b *Bounded) Len() int { return b.ring.Len() }

// Has reports whether the named member is present.
func (b *Bounded) Has(name string) bool { return b.ring.Has(name) }

// Checksum digests "bounded", the ring's VNodes, the load factor, the
// partition bits and the member set.
func (b *Bounded) Checksum() uint64 { return b.sum }

// Apply returns a Bounded with changes applied: the ring is updated
// incrementally, then every partition is placed again.
func (b *Bounded) Apply(changes ...Change) (*Bounded, error) {
	r, err := b.ring.Apply(changes...)
	if err != nil {
		return nil, err
	}
	if r == b.ring {
		return b, nil
	}
	return newBounded(b.cfg, r), nil
}

// With implements Strategy.
func (b *Bounded) With(changes ...Change) (Strategy, error) {
	n, err := b.Apply(changes...)
	if err != nil {
		return nil, err
	}
	return n, nil
}

// FootprintBytes returns the bytes held by the owner table and the ring.
func (b *Bounded) FootprintBytes() int { return cap(b.owner)*4 + b.ring.FootprintBytes() }
