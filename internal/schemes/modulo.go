package schemes

import (
	"fmt"
	"slices"

	"github.com/placerhq/placer/ring"
)

// Modulo is the naive placement of the seed notes (node_for_list with
// :erlang.phash2(key, length(nodes))): the owner of a key is
// sorted[ring.Hash(key) mod len(sorted)], where sorted lists the member names in
// byte order, each repeated weight times. It balances well but moves almost
// every key when the member count changes; it is kept as the baseline the
// benchmark compares against.
type Modulo struct {
	members []ring.Member // sorted by name
	table   []string      // names in order, each repeated weight times
	sum     uint64
}

// NewModulo returns a Modulo over members (same validation as ring.New; the
// total weight is at most ring.MaxPoints).
func NewModulo(members ...ring.Member) (*Modulo, error) {
	ms, err := ring.MemberSet(members...)
	if err != nil {
		return nil, err
	}
	return newModulo(ms)
}

func newModulo(ms []ring.Member) (*Modulo, error) {
	if w := totalWeight(ms); w > ring.MaxPoints {
		return nil, fmt.Errorf("%w: total weight %d, at most %d", ring.ErrTooLarge, w, ring.MaxPoints)
	}
	m := &Modulo{members: ms, sum: ring.StrategyChecksum("modulo", ms)}
	for _, mb := range ms {
		for i := 0; i < mb.Weight; i++ {
			m.table = append(m.table, mb.Name)
		}
	}
	return m, nil
}

// Name returns "modulo".
func (m *Modulo) Name() string { return "modulo" }

// Locate returns the owner of key, or "" when there are no members.
func (m *Modulo) Locate(key []byte) string { return m.LocateHash(ring.Hash(key)) }

// LocateString is Locate for a string key.
func (m *Modulo) LocateString(key string) string { return m.LocateHash(ring.HashString(key)) }

// LocateHash returns the owner of the key hash h.
func (m *Modulo) LocateHash(h uint64) string {
	if len(m.table) == 0 {
		return ""
	}
	return m.table[h%uint64(len(m.table))]
}

// LocateN returns the owner and the next distinct names of the table after
// it (wrapping): up to n distinct members.
func (m *Modulo) LocateN(key []byte, n int) []string {
	if n < 1 || len(m.table) == 0 {
		return nil
	}
	return m.AppendLocateN(make([]string, 0, min(n, len(m.members))), key, n)
}

// AppendLocateN appends LocateN(key, n) to dst.
func (m *Modulo) AppendLocateN(dst []string, key []byte, n int) []string {
	if n < 1 || len(m.table) == 0 {
		return dst
	}
	n = min(n, len(m.members))
	start := len(dst)
	i := int(ring.Hash(key) % uint64(len(m.table)))
	for steps := 0; steps < len(m.table) && len(dst)-start < n; steps++ {
		if name := m.table[(i+steps)%len(m.table)]; !slices.Contains(dst[start:], name) {
			dst = append(dst, name)
		}
	}
	return dst
}

// Members returns the members sorted by name.
func (m *Modulo) Members() []ring.Member { return slices.Clone(m.members) }

// Len returns the number of members.
func (m *Modulo) Len() int { return len(m.members) }

// Has reports whether the named member is present.
func (m *Modulo) Has(name string) bool {
	return hasMember(m.members, name)
}

// Checksum digests "modulo" and the member set (ring.StrategyChecksum).
func (m *Modulo) Checksum() uint64 { return m.sum }

// With returns a Modulo with changes applied.
func (m *Modulo) With(changes ...ring.Change) (ring.Strategy, error) {
	ms, err := ring.ApplyChanges(m.members, changes...)
	if err != nil {
		return nil, err
	}
	return newModulo(ms)
}

// Table returns the owner table: member names in order, each repeated
// weight times; a key hash h belongs to Table()[h mod len(Table())].
func (m *Modulo) Table() []string { return slices.Clone(m.table) }
