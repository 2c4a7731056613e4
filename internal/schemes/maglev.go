package schemes

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/cespare/xxhash/v2"

	"github.com/placerhq/placer/ring"
)

// MaglevConfig configures Maglev. Zero values: a zero field means its
// documented default; NewMaglev rejects any other value out of range with
// ring.ErrBadConfig.
type MaglevConfig struct {
	// TableSize is M, the number of lookup-table entries: a prime, at most
	// MaxMaglevTable. The paper asks for M much larger than the member
	// count (M ≥ 100 × members keeps each member's share within about 1%
	// of even); the table costs 4 bytes per entry and a rebuild is
	// O(M log M). Default 65537.
	TableSize int
}

// MaxMaglevTable is the largest MaglevConfig.TableSize.
const MaxMaglevTable = 1 << 26

// DefaultMaglevConfig returns TableSize 65537.
func DefaultMaglevConfig() MaglevConfig { return MaglevConfig{TableSize: 65537} }

func (c MaglevConfig) validate() error {
	if c.TableSize < 2 || c.TableSize > MaxMaglevTable || !IsPrime(c.TableSize) {
		return fmt.Errorf("%w: Maglev TableSize %d is not a prime in 2..%d", ring.ErrBadConfig, c.TableSize, MaxMaglevTable)
	}
	return nil
}

// Maglev is Maglev's consistent hashing (Eisenbud et al., "Maglev: A Fast
// and Reliable Software Network Load Balancer", NSDI 2016): a lookup table
// of M entries (M prime) filled by the members in turn, each taking the
// next free entry of its own permutation offset, offset+skip,
// offset+2·skip, ... (mod M), where offset = XXH64(name) mod M and skip =
// XXH64(name, seed 1) mod (M−1) + 1. A member of weight w takes w entries
// per turn. A key hash h belongs to table[h mod M]. Lookups are one table
// read; balance is near perfect (entries differ by at most the weight per
// member); a change moves somewhat more than the ideal, since the
// permutations of the other members shift where the changed member's
// entries were or are. The members take turns in name order.
type Maglev struct {
	cfg     MaglevConfig
	members []ring.Member // sorted by name
	table   []int32       // entry -> member index; nil when empty
	sum     uint64
}

// NewMaglev returns a Maglev over members.
func NewMaglev(cfg MaglevConfig, members ...ring.Member) (*Maglev, error) {
	cfg.TableSize = cmp.Or(cfg.TableSize, DefaultMaglevConfig().TableSize)
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	ms, err := ring.MemberSet(members...)
	if err != nil {
		return nil, err
	}
	return newMaglev(cfg, ms)
}

func newMaglev(cfg MaglevConfig, ms []ring.Member) (*Maglev, error) {
	if w := totalWeight(ms); w > cfg.TableSize {
		return nil, fmt.Errorf("%w: total weight %d exceeds the Maglev table size %d", ring.ErrTooLarge, w, cfg.TableSize)
	}
	m := &Maglev{cfg: cfg, members: ms, sum: ring.StrategyChecksum("maglev", ms, uint64(cfg.TableSize))}
	if len(ms) > 0 {
		m.table = maglevPopulate(ms, cfg.TableSize)
	}
	return m, nil
}

// MaglevPermutation returns a member's offset and skip in a table of size M.
func MaglevPermutation(name string, size int) (offset, skip uint64) {
	m := uint64(size)
	return xxhash.Sum64String(name) % m, maglevSkipHash(name)%(m-1) + 1
}

func maglevSkipHash(name string) uint64 {
	d := xxhash.NewWithSeed(1)
	_, _ = d.WriteString(name)
	return d.Sum64()
}

// maglevPopulate fills the table (Algorithm 1 of the paper, with w turns per
// round for a member of weight w).
func maglevPopulate(ms []ring.Member, size int) []int32 {
	table := make([]int32, size)
	for i := range table {
		table[i] = -1
	}
	pos, skip := make([]uint64, len(ms)), make([]uint64, len(ms))
	for i, m := range ms {
		pos[i], skip[i] = MaglevPermutation(m.Name, size)
	}
	m := uint64(size)
	for filled := 0; ; {
		for i, mb := range ms {
			for range mb.Weight {
				for table[pos[i]] >= 0 {
					pos[i] = (pos[i] + skip[i]) % m
				}
				table[pos[i]] = int32(i)
				pos[i] = (pos[i] + skip[i]) % m
				if filled++; filled == size {
					return table
				}
			}
		}
	}
}

// Name returns "maglev".
func (m *Maglev) Name() string { return "maglev" }

// Config returns the configuration.
func (m *Maglev) Config() MaglevConfig { return m.cfg }

// Table returns the lookup table as member names (nil when empty).
func (m *Maglev) Table() []string {
	if m.table == nil {
		return nil
	}
	out := make([]string, len(m.table))
	for e, i := range m.table {
		out[e] = m.members[i].Name
	}
	return out
}

// Locate returns the owner of key, or "" when there are no members.
func (m *Maglev) Locate(key []byte) string { return m.LocateHash(ring.Hash(key)) }

// LocateString is Locate for a string key.
func (m *Maglev) LocateString(key string) string { return m.LocateHash(ring.HashString(key)) }

// LocateHash returns the owner of the key hash h.
func (m *Maglev) LocateHash(h uint64) string {
	if m.table == nil {
		return ""
	}
	return m.members[m.table[h%uint64(len(m.table))]].Name
}

// LocateN returns the owner, then the members of the following entries
// (wrapping), each once: up to n distinct members.
func (m *Maglev) LocateN(key []byte, n int) []string { return m.AppendLocateN(nil, key, n) }

// AppendLocateN appends LocateN(key, n) to dst.
func (m *Maglev) AppendLocateN(dst []string, key []byte, n int) []string {
	if n < 1 || m.table == nil {
		return dst
	}
	n = min(n, len(m.members))
	start := len(dst)
	e := int(ring.Hash(key) % uint64(len(m.table)))
	for steps := 0; steps < len(m.table) && len(dst)-start < n; steps++ {
		if name := m.members[m.table[(e+steps)%len(m.table)]].Name; !slices.Contains(dst[start:], name) {
			dst = append(dst, name)
		}
	}
	return dst
}

// Members returns the members sorted by name.
func (m *Maglev) Members() []ring.Member { return slices.Clone(m.members) }

// Len returns the number of members.
func (m *Maglev) Len() int { return len(m.members) }

// Has reports whether the named member is present.
func (m *Maglev) Has(name string) bool { return hasMember(m.members, name) }

// Checksum digests "maglev", the table size and the member set.
func (m *Maglev) Checksum() uint64 { return m.sum }

// With returns a Maglev with changes applied (the table is filled again).
func (m *Maglev) With(changes ...ring.Change) (ring.Strategy, error) {
	ms, err := ring.ApplyChanges(m.members, changes...)
	if err != nil {
		return nil, err
	}
	return newMaglev(m.cfg, ms)
}

// IsPrime reports whether n is prime (trial division; n ≤ 2^31).
func IsPrime(n int) bool {
	if n < 2 {
		return false
	}
	for d := 2; d*d <= n; d++ {
		if n%d == 0 {
			return false
		}
	}
	return true
}

// NextPrime returns the smallest prime ≥ n.
func NextPrime(n int) int {
	for !IsPrime(n) {
		n++
	}
	return n
}
