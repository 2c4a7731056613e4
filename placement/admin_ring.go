package placement

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/placerhq/placer/ring"
)

// The ring as a picture (RingInfo) and "what moves if" (WhatIf): reports
// for operators, computed on the node from its current view; neither
// changes anything.
const (
	RPCRing   = "placer.ring"   // → RingInfo
	RPCWhatIf = "placer.whatif" // fn (op), name, n (weight) → WhatIf
)

// MaxArcs bounds the arcs a report lists: beyond it they are coarsened to
// MaxArcs equal slices of the hash space, each given to the member owning
// most of it (Approximate is then set). The vnode ring has about 1024
// arcs per unit of weight per member.
const MaxArcs = 8192

// ShareArc is a stretch of the hash space as fractions of the circle:
// [Start, End) with 0 <= Start < End <= 1.
type ShareArc struct {
	Start float64 `json:"start"`
	End   float64 `json:"end"`
	Owner string  `json:"owner,omitempty"`
	From  string  `json:"from,omitempty"` // WhatIf: the owner before
	To    string  `json:"to,omitempty"`   // WhatIf: the owner after
}

// MemberShare is a ring member, its weight and its share of the keys.
type MemberShare struct {
	Name   string  `json:"name"`
	Weight int     `json:"weight"`
	Share  float64 `json:"share"`
}

// RingInfo is a node's ring drawn as arcs.
type RingInfo struct {
	Node        string        `json:"node"`
	Strategy    string        `json:"strategy"`
	Epoch       uint64        `json:"epoch"`
	Checksum    Checksum      `json:"checksum"`
	Members     []MemberShare `json:"members"`
	Excluded    []string      `json:"excluded"`
	Draining    []string      `json:"draining"`
	Arcs        []ShareArc    `json:"arcs"`
	Approximate bool          `json:"approximate"`
}

// WhatIf operations.
const (
	WhatIfRemove = "remove" // Member leaves (or fails)
	WhatIfDrain  = "drain"  // Member drains: it stays but owns nothing (the same moves as remove)
	WhatIfAdd    = "add"    // a new Member of Weight joins
	WhatIfWeight = "weight" // Member's weight becomes Weight
)

// WhatIfChange is a hypothetical change of the ring.
type WhatIfChange struct {
	Op     string `json:"op"`
	Member string `json:"member"`
	Weight int    `json:"weight,omitempty"`
}

// Flow is the share of the keys that would move from one member to another.
type Flow struct {
	From  string  `json:"from"`
	To    string  `json:"to"`
	Share float64 `json:"share"`
}

// WhatIf is what a change would move: the arcs that change owner, the
// share of the keys they hold, and from whom to whom.
type WhatIf struct {
	Node        string        `json:"node"`
	Change      WhatIfChange  `json:"change"`
	MovedShare  float64       `json:"moved_share"`
	Flows       []Flow        `json:"flows"`
	Arcs        []ShareArc    `json:"arcs"`
	Approximate bool          `json:"approximate"`
	Before      []MemberShare `json:"before"`
	After       []MemberShare `json:"after"`
}

// RingInfo draws this node's current ring.
func (c *Cluster) RingInfo() (RingInfo, error) {
	v := c.View()
	info := RingInfo{
		Node: c.self, Strategy: v.Strategy, Epoch: v.Epoch, Checksum: Checksum(v.Checksum),
		Excluded: append([]string{}, v.Excluded...), Draining: append([]string{}, v.Draining...), Arcs: []ShareArc{},
	}
	var err error
	if info.Members, err = memberShares(v.Ring()); err != nil {
		return info, err
	}
	arcs, err := ring.Arcs(v.Ring())
	if err != nil {
		return info, fmt.Errorf("%w: %w", ErrBadRequest, err)
	}
	info.Arcs, info.Approximate = shareArcs(arcs)
	return info, nil
}

// memberShares lists s's members with their shares.
func memberShares(s ring.Strategy) ([]MemberShare, error) {
	shares, err := ring.Shares(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadRequest, err)
	}
	out := []MemberShare{}
	for _, m := range s.Members() {
		out = append(out, MemberShare{Name: m.Name, Weight: m.Weight, Share: shares[m.Name]})
	}
	return out, nil
}

// frac is a hash as a fraction of the circle.
func frac(h uint64) float64 { return float64(h) / (math.MaxUint64 + 1.0) }

// shareArcs converts arcs to fractions, coarsened beyond MaxArcs.
func shareArcs(arcs []ring.Arc) ([]ShareArc, bool) {
	if len(arcs) <= MaxArcs {
		out := make([]ShareArc, len(arcs))
		for i, a := range arcs {
			out[i] = ShareArc{Start: frac(a.Start), End: frac(a.Start) + a.Share(), Owner: a.Owner}
		}
		return out, false
	}
	out := make([]ShareArc, 0, MaxArcs)
	step, j := 1.0/MaxArcs, 0
	for i := range MaxArcs {
		lo, hi := float64(i)*step, float64(i+1)*step
		weight := map[string]float64{}
		k := j // arcs[j] holds lo: the arcs cover the circle in order
		for ; k < len(arcs) && frac(arcs[k].Start) < hi; k++ {
			s, e := max(frac(arcs[k].Start), lo), min(frac(arcs[k].Start)+arcs[k].Share(), hi)
			weight[arcs[k].Owner] += e - s
		}
		j = max(k-1, j) // the last arc may reach into the next slice
		out = append(out, ShareArc{Start: lo, End: hi, Owner: heaviest(weight)})
	}
	return out, true
}

func heaviest(w map[string]float64) string {
	best, bw := "", -1.0
	for _, k := range slices.Sorted(mapKeys(w)) {
		if w[k] > bw {
			best, bw = k, w[k]
		}
	}
	return best
}

func mapKeys(m map[string]float64) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// WhatIf computes what ch would move in this node's current ring, with
// ring.DiffStrategies; it changes nothing. ErrBadRequest for an unknown
// operation or member, or a weight out of range.
func (c *Cluster) WhatIf(ch WhatIfChange) (WhatIf, error) {
	cur := c.View().Ring()
	out := WhatIf{Node: c.self, Change: ch, Flows: []Flow{}, Arcs: []ShareArc{}}
	next, err := applyWhatIf(cur, ch)
	if err != nil {
		return out, err
	}
	if out.Before, err = memberShares(cur); err != nil {
		return out, err
	}
	if out.After, err = memberShares(next); err != nil {
		return out, err
	}
	moves, err := ring.DiffStrategies(cur, next)
	if err != nil {
		return out, fmt.Errorf("%w: %w", ErrBadRequest, err)
	}
	out.MovedShare, out.Flows = flows(moves)
	arcs := make([]ring.Arc, len(moves))
	for i, m := range moves {
		arcs[i] = ring.Arc{Start: m.Start, End: m.End, Owner: m.From + "\x00" + m.To}
	}
	sa, approx := shareArcs(arcs)
	for _, a := range sa {
		if from, to, ok := strings.Cut(a.Owner, "\x00"); ok {
			out.Arcs = append(out.Arcs, ShareArc{Start: a.Start, End: a.End, From: from, To: to})
		}
	}
	out.Approximate = approx
	return out, nil
}

// applyWhatIf returns cur with ch applied.
func applyWhatIf(cur ring.Strategy, ch WhatIfChange) (ring.Strategy, error) {
	var rc ring.Change
	switch ch.Op {
	case WhatIfRemove, WhatIfDrain:
		rc = ring.RemoveChange(ch.Member)
	case WhatIfAdd:
		rc = ring.AddChange(ring.Member{Name: ch.Member, Weight: max(ch.Weight, 1)})
	case WhatIfWeight:
		rc = ring.SetWeightChange(ch.Member, ch.Weight)
	default:
		return nil, fmt.Errorf("%w: what-if op %q: want remove, drain, add or weight", ErrBadRequest, ch.Op)
	}
	next, err := cur.With(rc)
	if err != nil {
		return nil, fmt.Errorf("%w: what-if %s %s: %w", ErrBadRequest, ch.Op, ch.Member, err)
	}
	return next, nil
}

// flows sums the moves by (from, to), largest first.
func flows(moves []ring.Move) (float64, []Flow) {
	by := map[[2]string]float64{}
	total := 0.0
	for _, m := range moves {
		s := ring.Arc{Start: m.Start, End: m.End}.Share()
		by[[2]string{m.From, m.To}] += s
		total += s
	}
	out := make([]Flow, 0, len(by))
	for k, s := range by {
		out = append(out, Flow{From: k[0], To: k[1], Share: s})
	}
	slices.SortFunc(out, func(a, b Flow) int {
		if a.Share != b.Share {
			return map[bool]int{true: -1, false: 1}[a.Share > b.Share]
		}
		return strings.Compare(a.From+a.To, b.From+b.To)
	})
	return total, out
}
