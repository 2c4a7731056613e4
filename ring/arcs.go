package ring

import "math"

// Arc is a stretch of the hash space, [Start, End], that one member owns.
type Arc struct {
	Start, End uint64
	Owner      string
}

// Share is the arc's fraction of the hash space.
func (a Arc) Share() float64 { return (float64(a.End-a.Start) + 1) / (math.MaxUint64 + 1.0) }

// Arcs returns the owner of every stretch of the hash space, in order from
// 0 to math.MaxUint64, adjacent stretches of one owner merged: what a
// picture of the ring draws. ErrNoRanges for a strategy without ranges
// (Ring and Bounded have them); nil for an empty one.
func Arcs(s Strategy) ([]Arc, error) {
	if s.Len() == 0 {
		return nil, nil
	}
	it, err := breaksOf(s)
	if err != nil {
		return nil, err
	}
	var out []Arc
	for start, owner, ok := it.next(); ok; start, owner, ok = it.next() {
		if n := len(out); n > 0 && out[n-1].Owner == owner {
			continue
		}
		if n := len(out); n > 0 {
			out[n-1].End = start - 1
		}
		out = append(out, Arc{Start: start, End: math.MaxUint64, Owner: owner})
	}
	return out, nil
}
