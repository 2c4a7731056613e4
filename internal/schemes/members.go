package schemes

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/placerhq/placer/ring"
)

// hasMember reports whether ms (sorted by name) holds a member called name.
func hasMember(ms []ring.Member, name string) bool {
	_, ok := slices.BinarySearchFunc(ms, name, cmpName)
	return ok
}

func cmpName(m ring.Member, name string) int { return cmp.Compare(m.Name, name) }

func totalWeight(ms []ring.Member) int {
	t := 0
	for _, m := range ms {
		t += m.Weight
	}
	return t
}

// Shares returns each member's exact fraction of the 64-bit hash space under
// s: from the owner table (*Modulo, *Maglev), the partitions (*Consistent),
// or ring.Shares (*ring.Ring, *ring.Bounded). The others (Jump, Rendezvous,
// MultiProbe) have no exact finite form and return ErrNoShares.
func Shares(s ring.Strategy) (map[string]float64, error) {
	out := make(map[string]float64, s.Len())
	for _, m := range s.Members() {
		out[m.Name] = 0
	}
	switch s := s.(type) {
	case *Modulo:
		addTableShares(out, s.table)
	case *Maglev:
		addTableShares(out, s.Table())
	case *Consistent:
		p := s.cfg.PartitionCount
		for i := 0; i < p && s.c != nil; i++ {
			if name := s.LocateHash(uint64(i)); name != "" {
				out[name] += 1 / float64(p)
			}
		}
	default:
		sh, err := ring.Shares(s)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrNoShares, err)
		}
		return sh, nil
	}
	return out, nil
}

// addTableShares counts a table whose entry h mod len(table) owns key h. (The
// remainder 2^64 mod len(table) makes the first entries a 2^-64 larger: not
// visible in a float64.)
func addTableShares(out map[string]float64, table []string) {
	for _, name := range table {
		out[name] += 1 / float64(len(table))
	}
}
