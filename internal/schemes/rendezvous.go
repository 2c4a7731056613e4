package schemes

import (
	"math"
	"slices"

	"github.com/cespare/xxhash/v2"

	"github.com/placerhq/placer/ring"
)

// Rendezvous is rendezvous or highest-random-weight hashing (Thaler and
// Ravishankar, "Using name-based mappings to increase hit rates", 1998): a
// key belongs to the member with the highest score for it. A member's raw
// score for key hash h is HRWRaw(h, HRWSeed(name)); with weights, the score
// is weight / -ln(u), u the raw score as a fraction in (0, 1) (the
// logarithmic method of Schindelhauer and Schomaker, "Weighted distributed
// hash tables", 2005), so a member holds weight/total of the keys. Ties go
// to the member whose name sorts first.
//
// A join moves only the keys the newcomer wins and a leave only the
// leaver's keys, each to its next best member: no other key moves. The price
// is a lookup that scores every member: O(members).
type Rendezvous struct {
	members []ring.Member // sorted by name
	seeds   []uint64
	groups  []hrwGroup // members by weight, for lookups
	sum     uint64
}

// hrwGroup is the members of one weight: the highest raw score among them
// wins the group, then the groups' winners are compared by weighted score.
type hrwGroup struct {
	weight int
	idx    []int // member indexes, ascending
}

// NewRendezvous returns a Rendezvous over members.
func NewRendezvous(members ...ring.Member) (*Rendezvous, error) {
	ms, err := ring.MemberSet(members...)
	if err != nil {
		return nil, err
	}
	return newRendezvous(ms), nil
}

func newRendezvous(ms []ring.Member) *Rendezvous {
	r := &Rendezvous{members: ms, seeds: make([]uint64, len(ms)), sum: ring.StrategyChecksum("rendezvous", ms)}
	byWeight := map[int]int{}
	for i, m := range ms {
		r.seeds[i] = HRWSeed(m.Name)
		g, ok := byWeight[m.Weight]
		if !ok {
			g = len(r.groups)
			byWeight[m.Weight] = g
			r.groups = append(r.groups, hrwGroup{weight: m.Weight})
		}
		r.groups[g].idx = append(r.groups[g].idx, i)
	}
	return r
}

// HRWSeed returns the seed of a member's scores: XXH64 of its name.
func HRWSeed(name string) uint64 { return xxhash.Sum64String(name) }

// HRWRaw returns a member's raw score for key hash h: the murmur3 64-bit
// finaliser of h XOR the member's seed (a bijection, so two members never
// tie on one key unless their seeds are equal).
func HRWRaw(h, seed uint64) uint64 {
	x := h ^ seed
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}

// HRWWeighted returns the weighted score of a raw score: weight / -ln(u),
// u = (raw>>11 + 0.5) / 2^53.
func HRWWeighted(raw uint64, weight int) float64 {
	u := (float64(raw>>11) + 0.5) / (1 << 53)
	return float64(weight) / -math.Log(u)
}

// HRWBeats reports whether raw score a of a member of weight wa (name na)
// beats raw score b of a member of weight wb (name nb): by raw score when
// the weights are equal, else by weighted score; ties to the smaller name.
func HRWBeats(a uint64, wa int, na string, b uint64, wb int, nb string) bool {
	if wa == wb {
		if a != b {
			return a > b
		}
		return na < nb
	}
	sa, sb := HRWWeighted(a, wa), HRWWeighted(b, wb)
	if sa != sb {
		return sa > sb
	}
	return na < nb
}

// Name returns "rendezvous".
func (r *Rendezvous) Name() string { return "rendezvous" }

// Locate returns the owner of key, or "" when there are no members.
func (r *Rendezvous) Locate(key []byte) string { return r.LocateHash(ring.Hash(key)) }

// LocateString is Locate for a string key.
func (r *Rendezvous) LocateString(key string) string { return r.LocateHash(ring.HashString(key)) }

// LocateHash returns the owner of the key hash h.
func (r *Rendezvous) LocateHash(h uint64) string {
	if i, _ := r.LocateIndex(h); i >= 0 {
		return r.members[i].Name
	}
	return ""
}

// LocateIndex returns the index (in Members order) of the owner of h and its
// raw score, or -1 when there are no members.
func (r *Rendezvous) LocateIndex(h uint64) (int, uint64) {
	best, braw := -1, uint64(0)
	for _, g := range r.groups {
		gi, graw := g.idx[0], HRWRaw(h, r.seeds[g.idx[0]])
		for _, i := range g.idx[1:] {
			if s := HRWRaw(h, r.seeds[i]); s > graw {
				gi, graw = i, s
			}
		}
		if best < 0 || HRWBeats(graw, g.weight, r.members[gi].Name, braw, r.members[best].Weight, r.members[best].Name) {
			best, braw = gi, graw
		}
	}
	return best, braw
}

// LocateN returns the n members with the highest scores, best first.
func (r *Rendezvous) LocateN(key []byte, n int) []string { return r.AppendLocateN(nil, key, n) }

// AppendLocateN appends LocateN(key, n) to dst.
func (r *Rendezvous) AppendLocateN(dst []string, key []byte, n int) []string {
	if n < 1 || len(r.members) == 0 {
		return dst
	}
	h := ring.Hash(key)
	order := make([]int, len(r.members))
	raw := make([]uint64, len(r.members))
	for i := range order {
		order[i], raw[i] = i, HRWRaw(h, r.seeds[i])
	}
	slices.SortFunc(order, func(a, b int) int {
		ma, mb := r.members[a], r.members[b]
		if HRWBeats(raw[a], ma.Weight, ma.Name, raw[b], mb.Weight, mb.Name) {
			return -1
		}
		return 1
	})
	for _, i := range order[:min(n, len(order))] {
		dst = append(dst, r.members[i].Name)
	}
	return dst
}

// Members returns the members sorted by name.
func (r *Rendezvous) Members() []ring.Member { return slices.Clone(r.members) }

// Len returns the number of members.
func (r *Rendezvous) Len() int { return len(r.members) }

// Has reports whether the named member is present.
func (r *Rendezvous) Has(name string) bool { return hasMember(r.members, name) }

// Checksum digests "rendezvous" and the member set.
func (r *Rendezvous) Checksum() uint64 { return r.sum }

// With returns a Rendezvous with changes applied.
func (r *Rendezvous) With(changes ...ring.Change) (ring.Strategy, error) {
	ms, err := ring.ApplyChanges(r.members, changes...)
	if err != nil {
		return nil, err
	}
	return newRendezvous(ms), nil
}
