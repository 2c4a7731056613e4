package ring

import (
	"fmt"
	"math"
)

// Shares returns each member's fraction of the 64-bit hash space under s:
// the share of uniformly random keys it owns, computed exactly from the
// ranges (*Ring, *Bounded). Members that own nothing are listed with 0.
// Other strategies return ErrNoRanges.
func Shares(s Strategy) (map[string]float64, error) {
	out := make(map[string]float64, s.Len())
	for _, m := range s.Members() {
		out[m.Name] = 0
	}
	switch s := s.(type) {
	case *Ring, *Bounded:
		it, _ := breaksOf(s)
		start, owner, ok := it.next()
		for ok {
			ns, no, nok := it.next()
			end := uint64(math.MaxUint64)
			if nok {
				end = ns - 1
			}
			if owner != "" {
				out[owner] += (float64(end-start) + 1) / math.Exp2(64)
			}
			start, owner, ok = ns, no, nok
		}
	default:
		return nil, fmt.Errorf("%w: %s", ErrNoRanges, s.Name())
	}
	return out, nil
}
