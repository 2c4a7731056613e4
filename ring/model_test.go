package ring

import (
	"cmp"
	"slices"
)

// model is the naive reference for Ring: every point in one list, every
// lookup a linear scan. It follows the rules of docs/ring.md literally.
type model struct {
	pts []modelPoint // sorted by (pos, name, index)
	win []modelPoint // one per distinct position: the smallest name
}

type modelPoint struct {
	pos  uint64
	name string
	idx  uint32
}

func newModel(cfg Config, ms []Member) *model {
	m := &model{}
	mask := cfg.posMask()
	for _, mb := range ms {
		for i := 0; i < mb.Weight*cfg.VNodes; i++ {
			p := Hash(VNodeKey(mb.Name, uint32(i))) & mask
			m.pts = append(m.pts, modelPoint{pos: p, name: mb.Name, idx: uint32(i)})
		}
	}
	slices.SortFunc(m.pts, func(a, b modelPoint) int {
		return cmp.Or(cmp.Compare(a.pos, b.pos), cmp.Compare(a.name, b.name), cmp.Compare(a.idx, b.idx))
	})
	for _, p := range m.pts {
		if len(m.win) > 0 && m.win[len(m.win)-1].pos == p.pos {
			continue // sorted by name within a position: the first wins
		}
		m.win = append(m.win, p)
	}
	return m
}

// winners returns one point per distinct position: the one with the
// smallest name.
func (m *model) winners() []modelPoint { return m.win }

// ownerIndex returns the index in winners() of the point owning h.
func (m *model) ownerIndex(h uint64) int {
	w := m.winners()
	bestS, bestQ := -1, -1
	var ds, dq uint64
	for i, p := range w {
		if d := p.pos - h; bestS < 0 || d < ds {
			bestS, ds = i, d
		}
		if d := h - p.pos; bestQ < 0 || d < dq {
			bestQ, dq = i, d
		}
	}
	if ds <= dq {
		return bestS
	}
	return bestQ
}

func (m *model) locate(h uint64) string {
	if len(m.pts) == 0 {
		return ""
	}
	return m.winners()[m.ownerIndex(h)].name
}

// locateN is the literal definition of the preference list: the owner of
// h, then the owner of h once the members listed so far have left, and so
// on (each time over the points of the remaining members, the smallest
// remaining name winning a shared position).
func (m *model) locateN(h uint64, n int) []string {
	if len(m.pts) == 0 || n < 1 {
		return nil
	}
	var out []string
	for len(out) < n {
		rest := &model{}
		for _, p := range m.pts { // m.pts is sorted by (pos, name, idx)
			if slices.Contains(out, p.name) {
				continue
			}
			rest.pts = append(rest.pts, p)
			if len(rest.win) == 0 || rest.win[len(rest.win)-1].pos != p.pos {
				rest.win = append(rest.win, p)
			}
		}
		if len(rest.pts) == 0 {
			break
		}
		out = append(out, rest.locate(h))
	}
	return out
}
