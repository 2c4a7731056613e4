package schemes

import (
	"slices"

	"github.com/placerhq/placer/ring"
)

// JumpBucket is jump consistent hash (Lamping and Veach, "A Fast, Minimal
// Memory, Consistent Hash Algorithm", 2014): the bucket in [0, n) of the
// key hash h, or -1 when n < 1. Growing n to n+1 moves exactly the keys
// that land in the new bucket n, about 1/(n+1) of them.
func JumpBucket(h uint64, n int) int {
	b, _ := JumpNext(h, n)
	return b
}

// JumpNext returns JumpBucket(h, n) and the bucket the key jumps to next:
// JumpBucket(h, n') == bucket for every n' in [n, next], and
// JumpBucket(h, next+1) == next (next ≥ n, capped at 1<<32). So when the
// table grows from n to m buckets, the key moves exactly when next < m.
func JumpNext(h uint64, n int) (bucket int, next int64) {
	b, j := int64(-1), int64(0)
	for j < int64(n) {
		b = j
		h = h*2862933555777941757 + 1
		j = int64(float64(b+1) * (float64(int64(1)<<31) / float64((h>>33)+1)))
	}
	return int(b), min(j, 1<<32)
}

// Jump places keys with jump consistent hash over a table of buckets, each
// naming a member: a member of weight w holds w buckets, and a key belongs to
// buckets[JumpBucket(h, len(buckets))].
//
// Jump hash can only grow or shrink the bucket count at the top: it cannot
// remove bucket i < n-1. The remap table is the usual way around it, and
// its cost is shown honestly: to remove bucket i, the member of the last
// bucket takes bucket i over, and the last bucket is dropped. The leaver's
// keys go to that member (as they should go somewhere), but the keys of the
// last bucket are spread over all the others by jump hash although their
// member did not leave: a removal moves about twice the ideal, half of it
// between members that stay. The placement also depends on the order of
// past changes, not only on the member set (two nodes that applied the same
// joins and leaves in another order disagree); Checksum digests the table.
type Jump struct {
	members []ring.Member // sorted by name
	buckets []string      // bucket -> member name
	sum     uint64
}

// NewJump returns a Jump over members, their buckets in name order.
func NewJump(members ...ring.Member) (*Jump, error) {
	ms, err := ring.MemberSet(members...)
	if err != nil {
		return nil, err
	}
	j := &Jump{members: ms}
	for _, m := range ms {
		j.buckets = appendBuckets(j.buckets, m.Name, m.Weight)
	}
	j.sum = j.checksum()
	return j, nil
}

func appendBuckets(b []string, name string, n int) []string {
	for range n {
		b = append(b, name)
	}
	return b
}

// RemoveBucket drops bucket i of buckets with the remap rule: the last
// bucket's member takes bucket i over. It returns the shortened table (the
// input is modified).
func RemoveBucket(buckets []string, i int) []string {
	last := len(buckets) - 1
	buckets[i] = buckets[last]
	return buckets[:last]
}

// Name returns "jump".
func (j *Jump) Name() string { return "jump" }

// Buckets returns the bucket table: Buckets()[b] is the member of bucket b.
func (j *Jump) Buckets() []string { return slices.Clone(j.buckets) }

// Locate returns the owner of key, or "" when there are no members.
func (j *Jump) Locate(key []byte) string { return j.LocateHash(ring.Hash(key)) }

// LocateString is Locate for a string key.
func (j *Jump) LocateString(key string) string { return j.LocateHash(ring.HashString(key)) }

// LocateHash returns the owner of the key hash h.
func (j *Jump) LocateHash(h uint64) string {
	if len(j.buckets) == 0 {
		return ""
	}
	return j.buckets[JumpBucket(h, len(j.buckets))]
}

// LocateN returns the owner, then the members of the following buckets
// (wrapping), each once: up to n distinct members.
func (j *Jump) LocateN(key []byte, n int) []string { return j.AppendLocateN(nil, key, n) }

// AppendLocateN appends LocateN(key, n) to dst.
func (j *Jump) AppendLocateN(dst []string, key []byte, n int) []string {
	if n < 1 || len(j.buckets) == 0 {
		return dst
	}
	return appendDistinct(dst, j.buckets, JumpBucket(ring.Hash(key), len(j.buckets)), min(n, len(j.members)))
}

// appendDistinct appends the names of table from index i on (wrapping), each
// once, until it has appended n.
func appendDistinct(dst, table []string, i, n int) []string {
	start := len(dst)
	for steps := 0; steps < len(table) && len(dst)-start < n; steps++ {
		if name := table[(i+steps)%len(table)]; !slices.Contains(dst[start:], name) {
			dst = append(dst, name)
		}
	}
	return dst
}

// Members returns the members sorted by name.
func (j *Jump) Members() []ring.Member { return slices.Clone(j.members) }

// Len returns the number of members.
func (j *Jump) Len() int { return len(j.members) }

// Has reports whether the named member is present.
func (j *Jump) Has(name string) bool { return hasMember(j.members, name) }

// Checksum digests "jump", the member set and the bucket table (as each
// bucket's member index in name order).
func (j *Jump) Checksum() uint64 { return j.sum }

func (j *Jump) checksum() uint64 {
	idx := make(map[string]uint64, len(j.members))
	for i, m := range j.members {
		idx[m.Name] = uint64(i)
	}
	params := make([]uint64, len(j.buckets))
	for b, name := range j.buckets {
		params[b] = idx[name]
	}
	return ring.StrategyChecksum("jump", j.members, params...)
}

// With returns a Jump with changes applied in order: a join appends its
// buckets, a leave removes its buckets from the highest down with the remap
// rule, a weight change appends buckets or removes its highest ones.
func (j *Jump) With(changes ...ring.Change) (ring.Strategy, error) {
	ms, err := ring.ApplyChanges(j.members, changes...)
	if err != nil {
		return nil, err
	}
	n := &Jump{members: ms, buckets: slices.Clone(j.buckets)}
	weight := map[string]int{}
	for _, c := range changes {
		before, ok := weight[c.Member.Name]
		if !ok {
			if i, found := slices.BinarySearchFunc(j.members, c.Member.Name, cmpName); found {
				before = j.members[i].Weight
			}
		}
		n.buckets = JumpApply(n.buckets, c, before)
		weight[c.Member.Name] = weightAfter(before, c)
	}
	n.sum = n.checksum()
	return n, nil
}

// weightAfter returns a member's weight after c, given its weight before
// (0: absent).
func weightAfter(w int, c ring.Change) int {
	switch c.Op {
	case ring.OpAdd, ring.OpSetWeight:
		return c.Member.Weight
	case ring.OpRemove:
		return 0
	}
	return w
}

// JumpApply applies one valid change to a bucket table, given the weight
// the member had before it (0 if absent), and returns the new table.
func JumpApply(buckets []string, c ring.Change, before int) []string {
	name, after := c.Member.Name, weightAfter(before, c)
	if after > before {
		return appendBuckets(buckets, name, after-before)
	}
	for drop := before - after; drop > 0; drop-- {
		buckets = RemoveBucket(buckets, lastIndex(buckets, name))
	}
	return buckets
}

// lastIndex returns the highest index of name in table, or -1.
func lastIndex(table []string, name string) int {
	for i := len(table) - 1; i >= 0; i-- {
		if table[i] == name {
			return i
		}
	}
	return -1
}
