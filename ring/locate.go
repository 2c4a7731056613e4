package ring

// Locate returns the member that owns key, or "" if the ring is empty. It
// does not allocate or lock.
func (r *Ring) Locate(key []byte) string { return r.LocateHash(Hash(key)) }

// LocateString is Locate for a string key.
func (r *Ring) LocateString(key string) string { return r.LocateHash(HashString(key)) }

// LocateHash returns the owner of the position h (h = Hash(key)), or "" if
// the ring is empty.
func (r *Ring) LocateHash(h uint64) string {
	if r.points == 0 {
		return ""
	}
	return r.names[r.slotFor(h)]
}

// slotFor returns the slot owning position h on a non-empty ring: the owner
// of the nearest point, the following one on a tie. The fast path handles a
// key with a point before and after it in the same leaf, without a
// data-dependent branch (a mispredicted branch costs more than the rest of
// the lookup); slotSlow handles the rest.
func (r *Ring) slotFor(h uint64) uint64 {
	lf := r.leaves[h>>r.shift]
	if len(lf) > 0 {
		key := h << r.k
		e := lf[hdrWords:]
		s := key >> (64 - subBits)
		i := int(byte(lf[s>>3] >> ((s & 7) * 8)))
		// Read the entry where the key would sit if the leaf's points were
		// evenly spread: its cache line, or the next, usually holds the
		// answer, and this read does not wait for the sub-index read. An
		// exact hit (a key on a point) is also the answer.
		if g := int((key >> 32) * uint64(len(lf)-leafOver) >> 32); e[g] == key {
			i = g
		}
		c := b2i(e[i] < key) + b2i(e[i+1] < key) + b2i(e[i+2] < key) + b2i(e[i+3] < key)
		i += c
		if n := len(lf) - leafOver; c < 4 && uint(i-1) < uint(n-1) {
			succ, pred := e[i], e[i-1]
			lo := key >> r.k
			owner := pred
			if (succ>>r.k)-lo <= lo-(pred>>r.k) {
				owner = succ
			}
			return owner & r.mask
		}
	}
	return r.slotSlow(h)
}

func (r *Ring) slotSlow(h uint64) uint64 {
	c := r.seek(h)
	succ := c.entry()
	sp := r.pos(c.li, succ)
	c.prev()
	pred := c.entry()
	if sp-h <= h-r.pos(c.li, pred) {
		return succ & r.mask
	}
	return pred & r.mask
}

// cursor points at one entry of a non-empty ring: entry i of leaf li.
type cursor struct {
	r     *Ring
	li, i int
}

func (c *cursor) entry() uint64 { return c.r.leaves[c.li][hdrWords+c.i] }

func (c *cursor) slot() uint64 { return c.entry() & c.r.mask }

func (c *cursor) position() uint64 { return c.r.pos(c.li, c.entry()) }

// next moves to the following point, wrapping past the top of the space.
func (c *cursor) next() {
	c.i++
	for c.i >= len(leafEntries(c.r.leaves[c.li])) {
		c.li = (c.li + 1) & (len(c.r.leaves) - 1)
		c.i = 0
	}
}

// prev moves to the preceding point, wrapping below zero.
func (c *cursor) prev() {
	c.i--
	for c.i < 0 {
		c.li = (c.li - 1) & (len(c.r.leaves) - 1)
		c.i = len(leafEntries(c.r.leaves[c.li])) - 1
	}
}

// seek returns a cursor at the first point at or after h (wrapping).
func (r *Ring) seek(h uint64) cursor {
	li := int(h >> r.shift)
	lf := r.leaves[li]
	if e := leafEntries(lf); len(e) > 0 {
		if i := successor(lf, h<<r.k); i < len(e) {
			return cursor{r: r, li: li, i: i}
		}
	}
	c := cursor{r: r, li: li, i: len(leafEntries(lf)) - 1}
	c.next()
	return c
}

// owner returns a cursor at the point that owns h (non-empty ring).
func (r *Ring) owner(h uint64) cursor {
	c := r.seek(h)
	sp := c.position()
	p := c
	p.prev()
	if sp-h <= h-p.position() {
		return c
	}
	return p
}

// LocateN returns up to n distinct members for key: its owner first, then
// the owners of the following points clockwise, skipping members already
// listed. It is a preference list for replicas. It returns min(n, Len())
// names (fewer only if a member owns no point at all, which takes 64-bit
// position collisions with every one of its points); nil when n < 1 or the
// ring is empty.
func (r *Ring) LocateN(key []byte, n int) []string {
	if n < 1 || r.points == 0 {
		return nil
	}
	return r.appendLocateN(make([]string, 0, min(n, len(r.members))), Hash(key), n)
}

// AppendLocateN appends LocateN(key, n) to dst and returns the extended
// slice. It does not allocate when dst has room for the names and n ≤ 64.
func (r *Ring) AppendLocateN(dst []string, key []byte, n int) []string {
	return r.appendLocateN(dst, Hash(key), n)
}

// AppendLocateNHash is AppendLocateN for a key position h = Hash(key).
func (r *Ring) AppendLocateNHash(dst []string, h uint64, n int) []string {
	return r.appendLocateN(dst, h, n)
}

func (r *Ring) appendLocateN(dst []string, h uint64, n int) []string {
	if n < 1 || r.points == 0 {
		return dst
	}
	n = min(n, len(r.members))
	seen := newSlotSet(n, len(r.names))
	c := r.owner(h)
	for steps := r.points - len(r.shadow); steps > 0 && n > 0; steps-- {
		if s := c.slot(); seen.add(s) {
			dst = append(dst, r.names[s])
			n--
		}
		c.next()
	}
	return dst
}

// slotSet remembers slots: in a fixed array for small sets, else a bitmap.
type slotSet struct {
	small [64]uint64
	n     int
	bits  []uint64
}

func newSlotSet(want, nslots int) slotSet {
	if want <= len(slotSet{}.small) {
		return slotSet{}
	}
	return slotSet{bits: make([]uint64, (nslots+63)/64)}
}

// add records s and reports whether it was new.
func (s *slotSet) add(x uint64) bool {
	if s.bits != nil {
		w, b := x/64, uint64(1)<<(x%64)
		if s.bits[w]&b != 0 {
			return false
		}
		s.bits[w] |= b
		return true
	}
	for _, y := range s.small[:s.n] {
		if y == x {
			return false
		}
	}
	s.small[s.n] = x
	s.n++
	return true
}
